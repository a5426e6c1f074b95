"""Benchmark: dispatching 10,000 invitations through the real Twilio SDK to a local fake Twilio.

Builds its own caseload (BENCH_MESSAGES, default 10,000 returnees due for their one-month
check), plans, and times one `dispatch`: messages per second end to end, and the platform's own
time per message (everything but the HTTP round trips to the fake server).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select  # noqa: E402

import monitor.sms.backends as backends  # noqa: E402
from monitor.extensions import cipher, db  # noqa: E402
from monitor.models import Organisation, Returnee  # noqa: E402
from tests.conftest import build_app  # noqa: E402
from tests.fake_twilio import FakeTwilio  # noqa: E402

N = int(os.environ.get("BENCH_MESSAGES", "10000"))


def main() -> None:
    instance = Path(tempfile.mkdtemp())
    today = date.today()
    with FakeTwilio() as fake:
        app = build_app(f"sqlite:///{instance / 'bench.sqlite'}", instance, SMS_BACKEND="twilio",
                        TWILIO_ACCOUNT_SID="AC" + "1" * 32, TWILIO_AUTH_TOKEN="token",
                        TWILIO_MESSAGING_SERVICE_SID="MG" + "2" * 32, TWILIO_API_BASE_URL=fake.url)
        with app.app_context():
            upgrade()
            partner = db.session.scalar(select(Organisation).where(Organisation.code == "caritas"))  # the migration's
            rows = []
            for n in range(N):
                phone = f"+995555{n:06d}"
                rows.append({"code": f"D-{n:06d}", "destination_country": "GE", "partner_id": partner.id,
                             "return_date": today - timedelta(days=31), "language": "ka", "preferred_channel": "sms",
                             "phone": phone, "phone_lookup": cipher.lookup_hash(phone), "consent_given": True,
                             "consent_sms": True, "consent_phone": True, "do_not_contact": False})
            db.session.execute(Returnee.__table__.insert(), rows)
            db.session.commit()
            from scheduler.dispatch import dispatch
            from scheduler.planning import plan
            plan(today)
            http_seconds = [0.0]
            original = backends.TwilioBackend.send

            def timed(self, *args):
                start = time.perf_counter()
                try:
                    return original(self, *args)
                finally:
                    http_seconds[0] += time.perf_counter() - start

            backends.TwilioBackend.send = timed
            noon_tbilisi = datetime.combine(today, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=8)
            start = time.perf_counter()
            report = dispatch(noon_tbilisi)
            total = time.perf_counter() - start
            backends.TwilioBackend.send = original
        sent = report.counts.get("sent", 0)
        print(f"{'messages':>9} {'seconds':>8} {'messages/s':>11} {'SDK + HTTP ms/msg':>18} {'platform ms/msg':>16}")
        print(f"{sent:>9} {total:>8.1f} {sent / total:>11.0f} {1000 * http_seconds[0] / sent:>18.2f} "
              f"{1000 * (total - http_seconds[0]) / sent:>16.2f}")
        print(f"the fake Twilio received {len(fake.messages())} messages")


if __name__ == "__main__":
    main()
