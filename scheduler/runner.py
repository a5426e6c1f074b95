"""The scheduler process: `monitor scheduler` runs planning and dispatch periodically with
APScheduler 3, its jobs kept in the application database (SQLAlchemyJobStore).

Every job is idempotent and every state change is in the database, so the process can be killed
(even with kill -9) at any moment and restarted, and two runners against one PostgreSQL
database do no work twice (see scheduler/dispatch.py).
"""
from __future__ import annotations

import logging

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler

from scheduler.clock import Clock

log = logging.getLogger("monitor.scheduler")

_app = None
_clock: Clock = Clock()


def run_plan() -> None:
    from scheduler.planning import plan

    with _app.app_context():
        for line in plan(_clock.today()).lines():
            log.info("plan: %s", line)


def run_dispatch() -> None:
    from scheduler.dispatch import dispatch

    with _app.app_context():
        report = dispatch(_clock.now())
        if report.counts:
            log.info("dispatch: %s", ", ".join(report.lines()))


def run_retention() -> None:
    """Names and phone numbers purged RETENTION_MONTHS after a case's last wave closed."""
    from monitor.returnees.erasure import purge_expired

    with _app.app_context():
        report = purge_expired(_clock.today(), _app.config["RETENTION_MONTHS"])
        if report.codes:
            log.info("retention: %d cases purged", len(report.codes))


def build_scheduler(app, clock: Clock | None = None, *, plan_minutes: int = 60, dispatch_seconds: int = 60,
                    scheduler_class=BlockingScheduler):
    """The APScheduler instance with its jobs (plan, dispatch, retention), stored in the app's database."""
    global _app, _clock
    _app = app
    _clock = clock or Clock()
    with app.app_context():
        from monitor.extensions import db
        engine = db.engine
    scheduler = scheduler_class(
        jobstores={"default": SQLAlchemyJobStore(engine=engine)},
        executors={"default": ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone="UTC")
    # Jobs refer to module functions by name, so the stored jobs survive a restart.
    scheduler.add_job("scheduler.runner:run_plan", "interval", minutes=plan_minutes, id="plan",
                      replace_existing=True, next_run_time=_clock.now())
    scheduler.add_job("scheduler.runner:run_dispatch", "interval", seconds=dispatch_seconds, id="dispatch",
                      replace_existing=True, next_run_time=_clock.now())
    # The retention period counts in months: once a day is enough, and a missed day is made up.
    scheduler.add_job("scheduler.runner:run_retention", "interval", hours=24, id="retention",
                      replace_existing=True, next_run_time=_clock.now())
    return scheduler
