"""The scheduler process killed with SIGKILL and restarted: no follow-up lost, nothing sent twice."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from datetime import time as time_of_day
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import func, select

from monitor.extensions import db
from monitor.models import FollowUp, Organisation, SmsMessage
from tests.conftest import build_app, make_returnee
from tests.fake_twilio import FakeTwilio

ROOT = Path(__file__).resolve().parents[1]


def test_kill_9_and_restart(tmp_path):
    url = f"sqlite:///{tmp_path / 'scheduler.sqlite'}"
    app = build_app(url, tmp_path)
    with app.app_context():
        upgrade()
        caritas = db.session.scalar(select(Organisation).where(Organisation.code == "caritas"))  # the migration's
        for n in range(40):
            make_returnee(caritas, f"K-{n:03d}", return_date=date.today() - timedelta(days=31),
                          destination_country="SN", phone=f"+22177{n:07d}", language="fr")  # Dakar: UTC
        db.session.commit()
    # The messages go through the real Twilio SDK to a fake Twilio: what it received is what a
    # phone would get (the outbox's unique key alone would make "none twice" true by construction).
    fake = FakeTwilio().__enter__()
    env = {**os.environ, "MONITOR_ENV": "testing", "MONITOR_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": url,
           "SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "test-token",
           "TWILIO_MESSAGING_SERVICE_SID": "MG" + "2" * 32, "TWILIO_API_BASE_URL": fake.url,
           "PUBLIC_BASE_URL": "https://monitor.example.org"}
    command = [sys.executable, "-m", "monitor.cli", "scheduler", "--dispatch-seconds", "1"]

    def run_for(seconds: float) -> None:
        """Start the scheduler, let it work `seconds` once it says it is running (starting Python
        takes seconds on a loaded machine), then kill it."""
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   text=True)
        started = time.monotonic()
        while "scheduler running" not in (process.stdout.readline() or "scheduler running"):
            assert time.monotonic() - started < 120, "the scheduler did not start"
        time.sleep(seconds)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    # Send at any hour: the test must not depend on the time of day it runs at.
    with app.app_context():
        from monitor.models import ContactSettings
        settings = db.session.get(ContactSettings, 1)
        settings.quiet_start, settings.quiet_end = time_of_day(0, 0), time_of_day(23, 59)
        db.session.commit()
    try:
        for seconds in (2.5, 1.5, 3.0):  # killed in the middle of whatever it is doing, three times
            run_for(seconds)
        received = [message["To"] for message in fake.messages()]
    finally:
        fake.__exit__(None, None, None)
    with app.app_context():
        follow_ups = db.session.scalar(select(func.count()).select_from(FollowUp))
        invitations = db.session.execute(
            select(SmsMessage.follow_up_id, func.count()).where(SmsMessage.kind == "invitation")
            .group_by(SmsMessage.follow_up_id)).all()
        statuses = set(db.session.scalars(select(SmsMessage.status)))
        stored_jobs = db.session.execute(db.text("SELECT id FROM apscheduler_jobs ORDER BY id")).scalars().all()
    assert follow_ups == 40  # none lost
    assert len(invitations) == 40 and all(count == 1 for _id, count in invitations)  # none twice
    assert statuses <= {"sent", "queued", "sending", "unknown"}
    # No phone got a message twice, and every message marked sent did reach Twilio.
    assert received and len(received) == len(set(received)), sorted(received)
    with app.app_context():
        sent = db.session.scalar(select(func.count()).select_from(SmsMessage).where(SmsMessage.status == "sent"))
    assert sent <= len(received)
    assert stored_jobs == ["dispatch", "import-jobs", "plan", "retention"]
