"""Large returnee imports: batches written in one transaction (a failure late in the file leaves
nothing written), the web upload as a background job with its progress page, one job per double
press, jobs whose process died, and the command line's progress bar. Both databases."""
from __future__ import annotations

import io
import re
import secrets
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from monitor.extensions import db
from monitor.models import AuditEntry, ImportJob, Returnee
from monitor.models.types import utcnow
from monitor.returnees import import_jobs, importing, operations
from monitor.returnees.importing import import_returnees
from tests.conftest import finished_job_page, make_returnee
from tests.test_double_tap import _logged_in

HEADER = "code,destination_country,partner,return_date,language,channel,phone,consent,name"


def csv_file(count: int, start: int = 0, **values) -> bytes:
    rows = [f"GE-{n:04d},GE,caritas,2026-09-01,{values.get('language', 'ka')},sms,555 12 34 {n % 100:02d},yes,"
            f"Nino Beridze" for n in range(start, start + count)]
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def committed(sql: str):
    """What another connection sees: only what an import committed."""
    with db.engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar()


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(importing, "BATCH_ROWS", 2)


def failing_on_call(monkeypatch, target, name, call: int, effect=None):
    """Make `target.name` fail (or run `effect`) on its `call`-th call; the calls made so far."""
    original, calls = getattr(target, name), []

    def wrapped(*args, **kwargs):
        calls.append(args)
        if len(calls) == call:
            if effect is None:
                raise RuntimeError("the disk is full")
            effect()
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, wrapped)
    return calls


# -- one transaction for the whole file ---------------------------------------------------------

def test_a_failure_writing_a_later_batch_leaves_nothing_written(orgs, returnees, small_batches, monkeypatch):
    """Rows 1-2 are written (batch 1), then writing batch 2 fails: batch 1 and the update of a
    stored case in it are rolled back with it."""
    data = csv_file(5, language="ru").replace(b"GE-0000", b"GE-C-001")  # a stored case, updated in batch 1
    calls = failing_on_call(monkeypatch, operations, "create_cases", 2)
    with pytest.raises(RuntimeError):
        import_returnees(data, actor="test")
    assert len(calls) == 2  # batch 1 was written before the failure
    assert committed("SELECT count(*) FROM returnees") == 4  # the fixture's cases only
    assert committed("SELECT language FROM returnees WHERE code = 'GE-C-001'") == "ka"
    assert committed("SELECT count(*) FROM consent_events") == 4
    assert committed("SELECT count(*) FROM audit_entries WHERE action = 'returnee.import'") == 0


def test_a_database_refusal_late_in_the_file_leaves_nothing_written(orgs, small_batches, monkeypatch):
    """The database itself refuses batch 3 (its case code is taken by then, as another writer
    would have done): the error surfaces and batches 1 and 2 are not committed either."""
    original = operations.create_cases

    def code_taken_meanwhile(cases, *args, **kwargs):
        if any(code == "GE-0004" for code, _values, _channels in cases):
            make_returnee(orgs["caritas"], "GE-0004")
            db.session.flush()
        return original(cases, *args, **kwargs)

    monkeypatch.setattr(operations, "create_cases", code_taken_meanwhile)
    with pytest.raises(sa.exc.IntegrityError):
        import_returnees(csv_file(5), actor="test")
    assert committed("SELECT count(*) FROM returnees") == 0
    assert committed("SELECT count(*) FROM consent_events") == 0


def test_an_invalid_row_after_written_batches_rolls_them_back(orgs, small_batches):
    data = csv_file(6).replace(b"GE-0005,GE,", b"GE-0005,Georgie,")
    report = import_returnees(data, actor="test")
    assert (report.written, report.rejected, report.created) == (False, 1, 0)
    assert [e.line for e in report.errors] == [7]
    assert committed("SELECT count(*) FROM returnees") == 0


def test_progress_after_each_batch(orgs, small_batches):
    seen = []
    report = import_returnees(csv_file(5), actor="test", progress=seen.append)
    assert seen == [2, 4, 5] and report.created == 5


def test_a_batch_is_checked_and_looked_up_together(orgs, returnees, small_batches, monkeypatch):
    """One query for the stored cases of a batch, not one per row."""
    calls = failing_on_call(monkeypatch, importing, "lookup", 0)
    data = csv_file(5).replace(b"GE-0003", b"GE-C-002")
    report = import_returnees(data, actor="test")
    assert (report.created, report.updated) == (4, 1)
    assert [sorted(values) for _column, values in calls] == [["GE-0000", "GE-0001"], ["GE-0002", "GE-C-002"],
                                                            ["GE-0004"]]


# -- the job -------------------------------------------------------------------------------------

def submitted(users, data: bytes, **options) -> ImportJob:
    job, made = import_jobs.submit(data, form_key=secrets.token_urlsafe(16), user=users["admin"],
                                   dry_run=options.get("dry_run", False), skip_invalid=False, filename="r.csv",
                                   locale=options.get("locale", "en"))
    assert made
    return job


def test_the_file_waits_encrypted_and_goes_when_the_job_ends(app, users):
    job = submitted(users, csv_file(3))
    stored = committed(f"SELECT payload FROM import_jobs WHERE id = {job.id}")
    assert stored and b"Nino" not in bytes(stored) and b"GE-0001" not in bytes(stored)
    assert committed(f"SELECT filename FROM import_jobs WHERE id = {job.id}") != "r.csv"
    assert (job.status, job.rows_total, job.rows_done) == ("queued", 3, 0)

    import_jobs.run(app, job.id)
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert (job.status, job.payload, job.rows_done) == ("done", None, 3)
    assert job.report["created"] == 3 and job.report["written"]
    assert committed("SELECT count(*) FROM returnees") == 3


def test_while_the_job_runs_its_progress_shows_and_nothing_is_committed(app, users, small_batches, monkeypatch):
    seen = []

    def look():
        seen.append((committed("SELECT status FROM import_jobs"), committed("SELECT rows_done FROM import_jobs"),
                     committed("SELECT count(*) FROM returnees")))

    failing_on_call(monkeypatch, operations, "create_cases", 3, effect=look)
    job = submitted(users, csv_file(5))
    import_jobs.run(app, job.id)
    # Two batches read and written: the count is on the job (PostgreSQL; SQLite has one writer,
    # the import), the rows are not committed until the end.
    progress = 4 if app.config["DB_BACKEND"] == "postgresql" else 0
    assert seen == [("running", progress, 0)]
    assert committed("SELECT status FROM import_jobs") == "done"
    assert committed("SELECT count(*) FROM returnees") == 5


def test_a_job_that_fails_is_failed_with_nothing_written(app, users, small_batches, monkeypatch, caplog):
    failing_on_call(monkeypatch, operations, "create_cases", 2)
    job = submitted(users, csv_file(5))
    import_jobs.run(app, job.id)
    assert committed("SELECT status FROM import_jobs") == "failed"
    assert committed("SELECT payload FROM import_jobs") is None
    assert committed("SELECT count(*) FROM returnees") == 0
    assert "RuntimeError" in caplog.text and "Nino" not in caplog.text and "GE-000" not in caplog.text


def test_the_job_page_shows_the_progress_and_refreshes_itself(app, users, browser_for):
    job = ImportJob(form_key="k" * 16, user_id=users["admin"].id, status="running", rows_total=1000, rows_done=400,
                    heartbeat_at=utcnow())
    db.session.add(job)
    db.session.commit()
    browser = browser_for(users["admin"])
    page = browser.get(f"/returnees/import/{job.id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in page
    assert '<progress max="1000" value="400">' in page and "400 of about 1,000 rows read" in page
    assert "<script" not in page

    job.status, job.report = "done", {"rows": 1000, "created": 990, "updated": 0, "unchanged": 0, "written": True,
                                      "errors": [[17, "the case code is empty", None]], "warnings": []}
    db.session.commit()
    page = browser.get(f"/returnees/import/{job.id}").get_data(as_text=True)
    assert "http-equiv" not in page and "<progress" not in page
    assert "Import done: 990 created, 0 updated, 0 unchanged." in page and "line 17: the case code is empty" in page


def test_an_unknown_job_is_a_404(users, browser_for):
    assert browser_for(users["admin"]).get("/returnees/import/999999").status_code == 404


def test_the_upload_answers_before_the_import_ends(app, users, browser_for, monkeypatch):
    """The request only records the job: the import runs after the answer (here: once released)."""
    release = threading.Event()
    original = import_jobs.run

    def held(app, job_id):
        release.wait(30)
        original(app, job_id)

    monkeypatch.setattr(import_jobs, "run", held)
    browser = browser_for(users["admin"])
    response = browser.post("/returnees/import", {"file": (io.BytesIO(csv_file(3)), "r.csv")})
    assert response.status_code == 302 and re.search(r"/returnees/import/\d+$", response.location)
    page = browser.get(response.location).get_data(as_text=True)
    assert "Waiting to start" in page and 'http-equiv="refresh"' in page
    assert committed("SELECT count(*) FROM returnees") == 0
    release.set()
    page = finished_job_page(browser, response.location).get_data(as_text=True)
    assert "3 rows read: 3 created" in page


# -- jobs whose process stopped ---------------------------------------------------------------------

def test_a_job_left_running_by_a_dead_process_is_failed(app, users, browser_for):
    long_ago = utcnow() - timedelta(seconds=app.config["IMPORT_JOB_STALE_SECONDS"] + 60)
    dead = submitted(users, csv_file(2))
    alive = submitted(users, csv_file(2, start=10))
    never_started = submitted(users, csv_file(2, start=20))
    db.session.execute(sa.update(ImportJob).where(ImportJob.id == dead.id).values(
        status="running", started_at=long_ago, heartbeat_at=long_ago))
    db.session.execute(sa.update(ImportJob).where(ImportJob.id == alive.id).values(
        status="running", started_at=long_ago, heartbeat_at=utcnow()))
    db.session.execute(sa.update(ImportJob).where(ImportJob.id == never_started.id).values(created_at=long_ago))
    db.session.commit()

    page = browser_for(users["admin"]).get(f"/returnees/import/{dead.id}").get_data(as_text=True)
    assert "The import stopped before its end" in page and "http-equiv" not in page
    db.session.expire_all()
    statuses = {job.id: (job.status, job.payload is None) for job in db.session.scalars(select(ImportJob))}
    assert statuses == {dead.id: ("failed", True), alive.id: ("running", False), never_started.id: ("failed", True)}
    assert import_jobs.fail_stale_jobs() == 0  # once

    import_jobs.run(app, dead.id)  # a late thread does not run a failed job
    assert committed("SELECT count(*) FROM returnees") == 0


def test_a_job_failed_while_it_ran_commits_nothing(app, users, monkeypatch):
    """Marked failed by another process (its heartbeat looked stale) while it still ran: its end
    finds it failed, and the import is rolled back, so the job and the data agree."""
    def marked_failed():
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE import_jobs SET status = 'failed'"))

    failing_on_call(monkeypatch, importing, "lookup", 1, effect=marked_failed)
    job = submitted(users, csv_file(3))
    import_jobs.run(app, job.id)
    assert committed("SELECT status FROM import_jobs") == "failed"
    assert committed("SELECT count(*) FROM returnees") == 0
    assert committed("SELECT count(*) FROM audit_entries WHERE action = 'returnee.import'") == 0


def test_the_scheduler_fails_stale_jobs(app, users, monkeypatch):
    from scheduler import runner

    job = submitted(users, csv_file(1))
    db.session.execute(sa.update(ImportJob).values(created_at=utcnow() - timedelta(days=1)))
    db.session.commit()
    monkeypatch.setattr(runner, "_app", app)
    runner.run_import_job_check()
    assert committed(f"SELECT status FROM import_jobs WHERE id = {job.id}") == "failed"


# -- a double press --------------------------------------------------------------------------------

def test_pressing_import_twice_at_once_makes_one_job(app, users, server):
    opener = _logged_in(server, users["admin"].email)
    page = opener.open(f"{server}/returnees/import").read().decode()
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form_key = re.search(r'name="form_key"[^>]*value="([^"]+)"', page).group(1)
    boundary = "----bgimport" + secrets.token_hex(8)
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in (("csrf_token", csrf), ("form_key", form_key))]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="r.csv"\r\n'
                 f'Content-Type: text/csv\r\n\r\n'.encode() + csv_file(20) + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    statuses, barrier = [], threading.Barrier(6)

    def press():
        request = urllib.request.Request(f"{server}/returnees/import", data=body,
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        barrier.wait()
        try:
            statuses.append(opener.open(request).status)
        except urllib.error.HTTPError as answer:
            statuses.append((answer.code, answer.headers.get("Location", "")))

    threads = [threading.Thread(target=press) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # Every press is sent to the same job's page.
    assert len(statuses) == 6 and len(set(statuses)) == 1 and statuses[0][0] == 302, statuses
    db.session.expire_all()
    [job] = db.session.scalars(select(ImportJob)).all()
    for _try in range(300):
        if committed(f"SELECT status FROM import_jobs WHERE id = {job.id}") in ("done", "failed"):
            break
        threading.Event().wait(0.1)
    assert committed(f"SELECT status FROM import_jobs WHERE id = {job.id}") == "done"
    assert db.session.scalar(select(func.count()).select_from(Returnee)) == 20
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "returnee.import")) == 1


# -- the command line --------------------------------------------------------------------------------

def test_the_command_line_shows_a_progress_bar_when_asked(app, orgs, tmp_path, small_batches):
    path = tmp_path / "returnees.csv"
    path.write_bytes(csv_file(5))
    result = app.test_cli_runner().invoke(args=["import-returnees", "--progress", str(path)])
    assert result.exit_code == 0, result.output
    assert "importing" in result.stderr
    assert result.stdout == "5 rows read: 5 created, 0 updated, 0 unchanged, 0 rejected\n"
    assert committed("SELECT count(*) FROM returnees") == 5
