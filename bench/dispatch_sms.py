"""Benchmark: dispatching invitations through the real Twilio SDK to a local fake Twilio, on
PostgreSQL and SQLite, at two caseload sizes.

For each database and size it builds its own caseload (returnees due for their one-month
check; PostgreSQL in a throwaway database created and dropped here, SQLite in a temporary file),
plans, and times one `dispatch`: messages per second end to end, the SDK's HTTP time per message
and the platform's own time per message (everything else: deciding, queueing, claiming,
marking), the SQL statements per message, then the growth from the small size to the large.
Goal: under 5 ms of platform time per message on PostgreSQL, flat with the caseload.

Sizes: BENCH_QUICK (the default, `make bench`) 500 and 2,000 messages; BENCH_FULL=1 5,000 and
20,000; BENCH_MESSAGES="1000,4000" for others. BENCH_DATABASES="postgresql" for one database.
BENCH_PROFILE=1 prints the platform's hottest functions of the large run.
"""
from __future__ import annotations

import cProfile
import logging
import os
import pstats
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade  # noqa: E402

import monitor.sms.backends as backends  # noqa: E402
from monitor.extensions import cipher, db  # noqa: E402
from monitor.models import Organisation, Returnee, SmsMessage  # noqa: E402
from tests.conftest import build_app  # noqa: E402
from tests.fake_twilio import FakeTwilio  # noqa: E402

PG = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
if os.environ.get("BENCH_MESSAGES"):
    SIZES = [int(n) for n in os.environ["BENCH_MESSAGES"].split(",")]
elif os.environ.get("BENCH_FULL") == "1":
    SIZES = [5000, 20000]
else:
    SIZES = [500, 2000]
DATABASES = os.environ.get("BENCH_DATABASES", "postgresql,sqlite").split(",")
PROFILE = os.environ.get("BENCH_PROFILE") == "1"


def build(n: int, today: date) -> None:
    partner = db.session.scalar(sa.select(Organisation).where(Organisation.code == "caritas"))  # the migration's
    rows = []
    for i in range(n):
        phone = f"+995555{i:06d}"
        rows.append({"code": f"D-{i:06d}", "destination_country": "GE", "partner_id": partner.id,
                     "return_date": today - timedelta(days=31), "language": "ka", "preferred_channel": "sms",
                     "phone": phone, "phone_lookup": cipher.lookup_hash(phone), "consent_given": True,
                     "consent_sms": True, "consent_phone": True, "do_not_contact": False})
    for start in range(0, n, 5000):
        db.session.execute(Returnee.__table__.insert(), rows[start:start + 5000])
    db.session.commit()


def run(url: str, n: int, fake: FakeTwilio, profile: bool) -> dict:
    from scheduler.dispatch import dispatch
    from scheduler.planning import plan

    today = date.today()
    app = build_app(url, tempfile.mkdtemp(), SMS_BACKEND="twilio",
                    TWILIO_ACCOUNT_SID="AC" + "1" * 32, TWILIO_AUTH_TOKEN="token",
                    TWILIO_MESSAGING_SERVICE_SID="MG" + "2" * 32, TWILIO_API_BASE_URL=fake.url)
    received_before = len(fake.messages())
    with app.app_context():
        upgrade()
        build(n, today)
        plan(today)
        http_seconds = [0.0]
        statements = [0]
        original = backends.TwilioBackend.send

        def timed(self, *args):
            start = time.perf_counter()
            try:
                return original(self, *args)
            finally:
                http_seconds[0] += time.perf_counter() - start

        def count(*_args):
            statements[0] += 1

        backends.TwilioBackend.send = timed
        sa.event.listen(db.engine, "before_cursor_execute", count)
        noon_tbilisi = datetime.combine(today, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=8)
        profiler = cProfile.Profile() if profile else None
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        report = dispatch(noon_tbilisi)
        if profiler:
            profiler.disable()
        total = time.perf_counter() - start
        sa.event.remove(db.engine, "before_cursor_execute", count)
        backends.TwilioBackend.send = original
        stored = db.session.execute(sa.select(SmsMessage.status, sa.func.count()).group_by(SmsMessage.status)).all()
        db.session.remove()
        db.engine.dispose()
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(40)
    sent = report.counts.get("sent", 0)
    return {"sent": sent, "seconds": total, "http": http_seconds[0], "statements": statements[0],
            "received": len(fake.messages()) - received_before, "stored": dict(stored)}


def on_postgresql(n: int, fake: FakeTwilio, profile: bool) -> dict:
    name = f"monitor_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        return run(sa.engine.make_url(PG).set(database=name).render_as_string(hide_password=False), n, fake, profile)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def on_sqlite(n: int, fake: FakeTwilio, profile: bool) -> dict:
    return run(f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite'}", n, fake, profile)


def main() -> None:
    logging.disable(logging.INFO)  # the migrations' progress
    results = []
    with FakeTwilio() as fake:
        for database in DATABASES:
            for n in SIZES:
                result = (on_postgresql if database == "postgresql" else on_sqlite)(
                    n, fake, PROFILE and n == SIZES[-1])
                results.append((database, n, result))
                print(f"{database} {n}: done, stored {result['stored']}", flush=True)
    print()
    print(f"{'database':<11} {'messages':>9} {'seconds':>8} {'messages/s':>11} {'SDK + HTTP ms/msg':>18} "
          f"{'platform ms/msg':>16} {'statements/msg':>15} {'received':>9}")
    platform = {}
    for database, n, r in results:
        sent = max(r["sent"], 1)
        platform[database, n] = 1000 * (r["seconds"] - r["http"]) / sent
        print(f"{database:<11} {r['sent']:>9} {r['seconds']:>8.1f} {r['sent'] / r['seconds']:>11.0f} "
              f"{1000 * r['http'] / sent:>18.2f} {platform[database, n]:>16.2f} {r['statements'] / sent:>15.2f} "
              f"{r['received']:>9}")
        if r["received"] != r["sent"] or r["sent"] != n:
            print(f"  !! {n} due, {r['sent']} sent, {r['received']} received by the fake Twilio")
    small, large = SIZES[0], SIZES[-1]
    for database in DATABASES:
        growth = platform[database, large] / platform[database, small]
        print(f"{database}: platform time per message x{growth:.2f} from {small:,} to {large:,} messages "
              f"(x{large / small:.0f} the caseload)")


if __name__ == "__main__":
    main()
