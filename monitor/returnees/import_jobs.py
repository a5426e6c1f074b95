"""Returnee imports uploaded on the web run as background jobs: the upload answers at once and
the job page follows the progress (a file of 100,000 rows takes longer than a request may).

    job, made = submit(data, form_key=..., user=..., dry_run=..., skip_invalid=..., filename=..., locale=...)
    if made:
        start(app, job.id)          # a thread of the web process runs `run(app, job.id)`

The file is personal data: it waits in the job's row encrypted with the data key and is removed
as the job ends; the row keeps the report. The job's end is written in the import's own
transaction, so a job says "done" exactly when its rows are committed. A job whose process died
(its heartbeat stopped) is marked failed by `fail_stale_jobs`, which the next upload, the job
page and the scheduler call: no job stays "running" for ever, and nothing of it was written.
"""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError

from monitor.csvimport import ImportReport, RowError, estimated_rows
from monitor.access import import_scope
from monitor.extensions import cipher, conflict_insert, db
from monitor.models import ImportJob, User
from monitor.models.types import utcnow
from monitor.returnees.importing import import_returnees

log = logging.getLogger("monitor.import_jobs")


class JobAbandoned(Exception):
    """The job was marked failed while it ran (its heartbeat looked stale): write nothing."""


def submit(data: bytes, *, form_key: str, user: User, dry_run: bool, skip_invalid: bool, filename: str,
           locale: str) -> tuple[ImportJob, bool]:
    """Record an uploaded file as a queued job and commit. (job, True) when this call made it;
    (job, False) when the same form was sent before (a double press): one job either way."""
    fail_stale_jobs()
    made = db.session.execute(
        conflict_insert()(ImportJob).values(
            form_key=form_key, user_id=user.id, status="queued", dry_run=dry_run, skip_invalid=skip_invalid,
            locale=locale, filename=filename[:200], payload=cipher.encrypt_bytes(data),
            rows_total=estimated_rows(data), rows_done=0, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["form_key"]).returning(ImportJob.id)).scalar()
    db.session.commit()
    job = db.session.scalar(select(ImportJob).where(ImportJob.form_key == form_key))
    return job, made is not None


def start(app, job_id: int) -> threading.Thread:
    thread = threading.Thread(target=run, args=(app, job_id), name=f"import-job-{job_id}", daemon=True)
    thread.start()
    return thread


def run(app, job_id: int) -> None:
    """Run a queued job to its end (done or failed), in an app context of its own."""
    with app.app_context():
        try:
            _run(job_id)
        finally:
            db.session.remove()


def _run(job_id: int) -> None:
    now = utcnow()
    claimed = db.session.execute(update(ImportJob).where(ImportJob.id == job_id, ImportJob.status == "queued")
                                 .values(status="running", started_at=now, heartbeat_at=now)).rowcount
    db.session.commit()
    if not claimed:
        return  # another thread or process has it, or it ended
    try:
        job = db.session.get(ImportJob, job_id)
        data = cipher.decrypt_bytes(job.payload)
        user = db.session.get(User, job.user_id) if job.user_id else None
        # A coordinator's import is for its own reintegration partner only.
        allowed, partner = import_scope(user) if user is not None else (True, None)
        if not allowed:
            raise PermissionError("the uploader may no longer import")
        options = {"dry_run": job.dry_run, "skip_invalid": job.skip_invalid, "filename": job.filename or "",
                   "partner": partner}
        locale = job.locale
        db.session.expunge(job)  # the encrypted file leaves the session's memory
        del job
        with force_locale(locale):  # the row errors in the language of whoever uploaded the file
            report = import_returnees(data, user=user, progress=lambda rows: _progress(job_id, rows),
                                      before_commit=lambda report: _finish(job_id, report, written=True),
                                      **options)
            if not report.written:  # nothing to commit with it: the job ends on its own
                _finish(job_id, report)
                db.session.commit()
    except Exception as problem:
        db.session.rollback()
        # The type only: an error's text can quote a row's values (personal data).
        log.error("import job %s failed: %s", job_id, type(problem).__name__)
        _fail(job_id)


def _progress(job_id: int, rows: int) -> None:
    """Rows read so far and a heartbeat, committed at once on a connection of their own (the
    import's transaction is still open). SQLite has one writer at a time, the import: there the
    page shows the job running without a count (production runs PostgreSQL)."""
    if db.engine.dialect.name == "sqlite":
        return
    with db.engine.begin() as conn:
        conn.execute(update(ImportJob).where(ImportJob.id == job_id, ImportJob.status == "running")
                     .values(rows_done=rows, heartbeat_at=utcnow()))


def _finish(job_id: int, report: ImportReport, written: bool = False) -> None:
    ended = db.session.execute(
        update(ImportJob).where(ImportJob.id == job_id, ImportJob.status == "running")
        .values(status="done", report=_stored(report, written), rows_done=report.rows, payload=None,
                finished_at=utcnow(), heartbeat_at=utcnow())).rowcount
    if not ended:
        raise JobAbandoned(job_id)


def _fail(job_id: int) -> None:
    db.session.execute(update(ImportJob).where(ImportJob.id == job_id, ImportJob.status.in_(("queued", "running")))
                       .values(status="failed", payload=None, finished_at=utcnow()))
    db.session.commit()


def fail_stale_jobs() -> int:
    """Mark failed the jobs whose process stopped: queued or running with no heartbeat for
    IMPORT_JOB_STALE_SECONDS. Their file is removed; nothing of them was written (a job's rows
    commit with its "done"). Returns how many."""
    cutoff = _stale_before()
    stale = or_(ImportJob.heartbeat_at < cutoff, ImportJob.heartbeat_at.is_(None) & (ImportJob.created_at < cutoff))
    try:
        failed = db.session.execute(update(ImportJob).where(ImportJob.status.in_(("queued", "running")), stale)
                                    .values(status="failed", payload=None, finished_at=utcnow())).rowcount
        db.session.commit()
    except OperationalError:  # SQLite: an import holds the one write lock, so its job is alive
        db.session.rollback()
        return 0
    if failed:
        log.warning("import jobs: %s stopped without finishing, marked failed", failed)
    return failed


def _stale_before():
    return utcnow() - timedelta(seconds=current_app.config["IMPORT_JOB_STALE_SECONDS"])


def looks_stale(job: ImportJob) -> bool:
    """A job not finished whose process has not been heard of for IMPORT_JOB_STALE_SECONDS (its
    page then asks fail_stale_jobs; a page that polls a live job writes nothing)."""
    return not job.finished and (job.heartbeat_at or job.created_at) < _stale_before()


def _stored(report: ImportReport, written: bool) -> dict:
    return {"rows": report.rows, "created": report.created, "updated": report.updated,
            "unchanged": report.unchanged, "written": written,
            "errors": [[e.line, e.message, e.code] for e in report.errors],
            "warnings": [[w.line, w.message, w.code] for w in report.warnings]}


def job_report(job: ImportJob) -> ImportReport | None:
    """The finished job's report, as the import returned it (None before the end)."""
    if not job.report:
        return None
    stored = job.report
    return ImportReport(rows=stored["rows"], created=stored["created"], updated=stored["updated"],
                        unchanged=stored["unchanged"], written=stored["written"],
                        errors=[RowError(*e) for e in stored["errors"]],
                        warnings=[RowError(*w) for w in stored["warnings"]])
