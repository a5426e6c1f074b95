"""The scheduler process (scheduler/runner.py): its jobs live in the application database and
survive a restart without being doubled; the jobs use the injected clock."""
from __future__ import annotations

import pickle
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler

from monitor.extensions import db
from monitor.models import FollowUp, SmsMessage
from scheduler import runner
from scheduler.clock import FixedClock
from tests.conftest import make_returnee

UTC = timezone.utc
MOMENT = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)  # noon in Tbilisi


@pytest.fixture(autouse=True)
def keep_runner_globals(monkeypatch):
    """build_scheduler sets the module's app and clock: put the old ones back afterwards."""
    monkeypatch.setattr(runner, "_app", runner._app)
    monkeypatch.setattr(runner, "_clock", runner._clock)


@pytest.fixture
def jobs_table(app):
    """The job store's table is APScheduler's, not the models': drop it afterwards."""
    yield lambda: _stored_jobs()
    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS apscheduler_jobs"))


def _stored_jobs() -> dict[str, dict]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, next_run_time, job_state FROM apscheduler_jobs")).all()
    return {row.id: {**pickle.loads(row.job_state), "stored_next_run_time": row.next_run_time} for row in rows}


def started(app, **options):
    scheduler = runner.build_scheduler(app, FixedClock(MOMENT), scheduler_class=BackgroundScheduler, **options)
    scheduler.start(paused=True)  # stores the jobs, runs none
    return scheduler


def test_the_jobs_are_stored_in_the_database_once(app, jobs_table):
    scheduler = started(app)
    jobs = jobs_table()
    assert set(jobs) == {"plan", "dispatch", "retention"}
    assert jobs["plan"]["func"] == "scheduler.runner:run_plan"
    assert jobs["dispatch"]["func"] == "scheduler.runner:run_dispatch"
    assert jobs["retention"]["func"] == "scheduler.runner:run_retention"
    assert jobs["plan"]["trigger"].interval == timedelta(minutes=60)
    assert jobs["dispatch"]["trigger"].interval == timedelta(seconds=60)
    assert jobs["retention"]["trigger"].interval == timedelta(hours=24)
    # Both run at once on start (the clock's now), then at their intervals.
    assert jobs["plan"]["next_run_time"] == jobs["dispatch"]["next_run_time"] == MOMENT
    assert jobs["plan"]["stored_next_run_time"] == pytest.approx(MOMENT.timestamp())
    assert (jobs["plan"]["coalesce"], jobs["plan"]["max_instances"]) == (True, 1)
    scheduler.shutdown(wait=False)

    # A restart (another process, the same database): the same three jobs, replaced, not doubled.
    scheduler = started(app, plan_minutes=30, dispatch_seconds=20)
    jobs = jobs_table()
    assert sorted(jobs) == ["dispatch", "plan", "retention"]
    assert jobs["plan"]["trigger"].interval == timedelta(minutes=30)
    assert jobs["dispatch"]["trigger"].interval == timedelta(seconds=20)
    assert [job.id for job in sorted(scheduler.get_jobs(), key=lambda j: j.id)] == ["dispatch", "plan", "retention"]
    scheduler.shutdown(wait=False)
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM apscheduler_jobs")).scalar() == 3


def test_the_jobs_run_with_the_injected_clock(app, orgs, jobs_table):
    returnee = make_returnee(orgs["caritas"], "GE-C-001", orgs["caritas-ge"], return_date=date(2026, 9, 1))
    db.session.commit()
    runner.build_scheduler(app, FixedClock(MOMENT), scheduler_class=BackgroundScheduler)  # never started

    runner.run_plan()  # plans as on 1 October 2026
    runner.run_dispatch()  # dispatches as at MOMENT
    db.session.expire_all()
    follow_up = db.session.scalar(sa.select(FollowUp).where(FollowUp.returnee_id == returnee.id))
    assert (follow_up.wave, follow_up.state, follow_up.invited_at) == ("m1", "invited", MOMENT)
    message = db.session.scalar(sa.select(SmsMessage))
    assert (message.status, message.created_at, message.sent_at) == ("sent", MOMENT, MOMENT)
