"""Benchmark: planning and sampling on PostgreSQL, at two caseload sizes.

For each size it builds its own caseload in a throwaway database (created and dropped here),
spread over 15 months of returns, then runs `plan` twice: the first pass creates the one-month
follow-ups and draws the sampled waves, the second has nothing to do. Prints the time and the
number of SQL statements of each pass at each size, then their growth from the small size to the
large: statements that grow with the caseload are batches (5,000 rows an INSERT), never a query
per returnee.

Sizes: BENCH_QUICK (the default, `make bench`) 10,000 and 40,000 returnees; BENCH_FULL=1 100,000
and 1,000,000 (long); BENCH_RETURNEES="20000,80000" for others.
"""
from __future__ import annotations

import logging
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
from monitor.models import Organisation, Returnee  # noqa: E402
from tests.conftest import build_app  # noqa: E402

if os.environ.get("BENCH_RETURNEES"):
    SIZES = [int(n) for n in os.environ["BENCH_RETURNEES"].split(",")]
elif os.environ.get("BENCH_FULL") == "1":
    SIZES = [100_000, 1_000_000]
else:
    SIZES = [10_000, 40_000]
PG = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TODAY = date(2026, 11, 24)
COUNTRIES = ["GE", "IQ", "RU", "AM", "UA", "MA", "SN", "AF", "CM", "IR", "CD", "MD", "BR", "MK", "KZ", "MN"]


def populate(partners: list[int], n_returnees: int) -> None:
    rng = random.Random(7)
    table = Returnee.__table__
    batch = []
    for n in range(n_returnees):
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


def measure(n: int) -> list[tuple]:
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
            populate([o.id for o in orgs], n)
            print(f"caseload of {n:,} returnees built in {time.perf_counter() - start:.1f} s", flush=True)
            statements = [0]
            sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
            rows = []
            for label in ("first", "second"):
                statements[0] = 0
                start = time.perf_counter()
                report = plan(TODAY)
                rows.append((n, label, time.perf_counter() - start, statements[0], sum(report.created.values()),
                             len(report.draws)))
            db.session.remove()
            db.engine.dispose()
        return rows
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    logging.disable(logging.INFO)  # the migrations' progress
    rows = [row for n in SIZES for row in measure(n)]
    print()
    print(f"{'returnees':>10} {'pass':<7} {'seconds':>8} {'SQL statements':>15} {'follow-ups created':>19} {'draws':>6}")
    for n, label, seconds, count, created, drawn in rows:
        print(f"{n:>10,} {label:<7} {seconds:>8.2f} {count:>15} {created:>19,} {drawn:>6}")
    small, large = SIZES[0], SIZES[-1]
    for label in ("first", "second"):
        [a] = [r for r in rows if r[0] == small and r[1] == label]
        [b] = [r for r in rows if r[0] == large and r[1] == label]
        print(f"{label} pass from {small:,} to {large:,} returnees (x{large / small:.0f}): statements "
              f"{a[3]} -> {b[3]} (x{b[3] / a[3]:.2f}), seconds x{b[2] / max(a[2], 1e-9):.2f}")


if __name__ == "__main__":
    main()
