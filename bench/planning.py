"""Benchmark: planning and sampling for 100,000 returnees on PostgreSQL.

Builds its own caseload (BENCH_RETURNEES, default 100,000) spread over 15 months of returns,
then runs `plan` twice: the first pass creates the one-month follow-ups and draws the sampled
waves, the second has nothing to do. Prints the time and the number of SQL statements of each
pass: the statement count must not grow with the caseload (no query per returnee).
"""
from __future__ import annotations

import os
import random
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.extensions import cipher, db  # noqa: E402
from monitor.models import FollowUp, Organisation, Returnee, SampleDraw  # noqa: E402
from tests.conftest import build_app  # noqa: E402

N = int(os.environ.get("BENCH_RETURNEES", "100000"))
PG = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TODAY = date(2026, 11, 24)
COUNTRIES = ["GE", "IQ", "RU", "AM", "UA", "MA", "SN", "AF", "CM", "IR", "CD", "MD", "BR", "MK", "KZ", "MN"]


def populate(partners: list[int]) -> None:
    rng = random.Random(7)
    table = Returnee.__table__
    batch = []
    for n in range(N):
        phone = f"+995555{n % 1000000:06d}"
        batch.append({
            "code": f"B-{n:07d}", "destination_country": rng.choice(COUNTRIES), "partner_id": rng.choice(partners),
            "return_date": TODAY - timedelta(days=rng.randint(0, 450)), "language": "ka",
            "preferred_channel": rng.choice(["sms", "sms", "phone"]), "phone": phone,
            "phone_lookup": cipher.lookup_hash(phone), "consent_given": rng.random() < 0.9, "consent_sms": True,
            "consent_phone": True, "do_not_contact": rng.random() < 0.02})
        if len(batch) == 5000:
            db.session.execute(table.insert(), batch)
            batch = []
    if batch:
        db.session.execute(table.insert(), batch)
    db.session.commit()


def main() -> None:
    from scheduler.planning import plan

    name = f"monitor_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        app = build_app(sa.engine.make_url(PG).set(database=name).render_as_string(hide_password=False),
                        tempfile.mkdtemp())
        with app.app_context():
            upgrade()
            # The two reintegration partners the migration creates.
            orgs = db.session.scalars(sa.select(Organisation).where(Organisation.code.in_(["caritas", "iom"]))).all()
            start = time.perf_counter()
            populate([o.id for o in orgs])
            print(f"caseload of {N:,} returnees built in {time.perf_counter() - start:.1f} s")
            statements = [0]
            sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
            rows = []
            for label in ("first pass (plan and draw)", "second pass (nothing to do)"):
                statements[0] = 0
                start = time.perf_counter()
                report = plan(TODAY)
                rows.append((label, time.perf_counter() - start, statements[0], sum(report.created.values()),
                             len(report.draws)))
            follow_ups = db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp))
            draws = db.session.scalar(sa.select(sa.func.count()).select_from(SampleDraw))
            db.session.remove()
            db.engine.dispose()
        print(f"{'pass':<30} {'seconds':>8} {'SQL statements':>15} {'follow-ups created':>19} {'draws':>6}")
        for label, seconds, count, created, drawn in rows:
            print(f"{label:<30} {seconds:>8.2f} {count:>15} {created:>19} {drawn:>6}")
        print(f"in the database: {follow_ups:,} follow-ups, {draws} draws")
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
