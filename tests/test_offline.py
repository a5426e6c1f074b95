"""The work list offline: the zip for KoboCollect / ODK Collect (its XLSForm accepted by pyxform
and by ODK Validate, its case list with contact details only for those who may see them, one
audit entry per export, scoped to the organisation), and the submissions coming back as ODK
Central and KoboToolbox export them (tests/fixtures/odk-central-worklist.csv and
tests/fixtures/kobo-worklist.csv): imported once, skipped the second time, a conflicting
second submission refused with its line. Both databases.

The fixtures answer the `returnees` fixture's cases (GE-C-001, GE-C-002, AM-C-001, wave m1) in
questionnaire version 2, as the CSV exports of the two servers write them by default.
"""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import threading
import zipfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from pyxform.validators.odk_validate import ODK_VALIDATE_PATH
from pyxform.xls2xform import convert
from sqlalchemy import func, select

from monitor.extensions import db
from monitor.models import AuditEntry, FollowUp, Response
from monitor.responses import importing
from monitor.responses.cli import import_responses_command
from monitor.responses.importing import import_responses
from surveys import registry
from tests.conftest import make_follow_up

FIXTURES = Path(__file__).parent / "fixtures"
CENTRAL = (FIXTURES / "odk-central-worklist.csv").read_bytes()
KOBO = (FIXTURES / "kobo-worklist.csv").read_bytes()
TODAY = date(2026, 11, 24)


def tasks(returnees, state="phone_task"):
    made = {key: make_follow_up(r, "m1", state=state, closes=date.today() + timedelta(days=20))
            for key, r in returnees.items()}
    db.session.commit()
    return made


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def case_list(files) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(files["cases.csv"].decode("utf-8"))))


def exported(browser, organisation=None):
    url = "/worklist/export" + (f"?organisation={organisation}" if organisation else "")
    return browser.post(url)


def imported(data, **options):
    return import_responses(data, version=2, actor="test", today=TODAY, **options)


def follow_up(returnees, key):
    return db.session.scalar(select(FollowUp).where(FollowUp.returnee_id == returnees[key].id))


# -- the export --------------------------------------------------------------------------------

def test_the_zip_holds_the_form_and_the_open_phone_tasks(users, returnees, browser_for):
    made = tasks(returnees)
    made["caritas"].state = "invited"  # an SMS follow-up: not a task for a person yet
    db.session.commit()
    reply = exported(browser_for(users["caritas"]))
    assert reply.status_code == 200 and reply.mimetype == "application/zip"
    disposition = reply.headers["Content-Disposition"]
    assert re.search(r"filename=worklist-caritas-\d{4}-\d{2}-\d{2}\.zip", disposition), disposition
    assert "Nino" not in disposition and "995" not in disposition
    assert "no-store" in reply.headers["Cache-Control"]
    files = unzip(reply.data)
    assert set(files) == {"worklist.xlsx", "cases.csv"}
    assert not files["cases.csv"].startswith(b"\xef\xbb\xbf")  # Collect reads the header as it is
    rows = case_list(files)
    assert [r["name"] for r in rows] == ["AM-C-001/m1", "GE-C-001/m1"]  # Caritas's, without IOM's
    assert list(rows[0]) == ["name", "label", "code", "wave", "language", "first", "window_closes",
                             "returnee_name", "phone"]
    assert rows[1]["code"] == "GE-C-001" and rows[1]["wave"] == "m1" and rows[1]["language"] == "ka"
    assert rows[1]["first"] == "yes" and rows[1]["returnee_name"] == "Nino Beridze"
    assert rows[1]["phone"] == "+995555123456" and "Nino Beridze" in rows[1]["label"]


def test_the_form_passes_pyxform_and_odk_validate(users, returnees, browser_for, tmp_path):
    tasks(returnees)
    files = unzip(exported(browser_for(users["caritas-ge"])).data)
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    warnings: list[str] = []
    result = convert(xlsform=str(tmp_path / "worklist.xlsx"), validate=True, warnings=warnings)
    # Only the language codes that pyxform cannot check (pt-BR, fa-AF: valid BCP 47 tags).
    assert all("language declarations" in w for w in warnings), warnings
    xform = result.xform
    assert 'src="jr://file-csv/cases.csv"' in xform  # select_one_from_file cases.csv
    assert 'jr:preloadParams="start"' in xform and 'jr:preloadParams="end"' in xform
    assert re.search(r'<select1 ref="/\w+/case" appearance="autocomplete">', xform)
    assert "instance('cases')/root/item[name =  /data/case ]/first" in xform  # the once-only modules follow the case list
    # ODK Validate (JavaRosa), called on the XForm itself with the case list beside it.
    (tmp_path / "worklist.xml").write_text(xform)
    run = subprocess.run(["java", "-Djava.awt.headless=true", "-jar", ODK_VALIDATE_PATH,
                          str(tmp_path / "worklist.xml")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Xform is valid" in run.stdout + run.stderr
    broken = xform.replace("calculate=\"2\"", "calculate=\"no-such-function(2)\"", 1)
    assert broken != xform
    (tmp_path / "broken.xml").write_text(broken)
    run = subprocess.run(["java", "-Djava.awt.headless=true", "-jar", ODK_VALIDATE_PATH, str(tmp_path / "broken.xml")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0  # the validator has teeth


def test_contact_details_only_for_an_account_that_may_see_them(app, users, returnees, orgs, tmp_path):
    tasks(returnees)
    runner = app.test_cli_runner()
    out = tmp_path / "w.zip"
    result = runner.invoke(args=["export", "worklist", "--organisation", "caritas-ge", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 cases, case codes, no names or phone numbers" in result.output
    content = unzip(out.read_bytes())["cases.csv"].decode()
    rows = case_list({"cases.csv": content.encode()})
    assert list(rows[0]) == ["name", "label", "code", "wave", "language", "first", "window_closes"]
    assert "Nino" not in content and "+995" not in content and rows[0]["label"] == "GE-C-001 · m1"
    result = runner.invoke(args=["export", "worklist", "--organisation", "caritas-ge", "-o", str(out),
                                 "--user", users["caritas-ge"].email])
    assert result.exit_code == 0, result.output
    assert "personal data" in result.output
    assert case_list(unzip(out.read_bytes()))[0]["phone"] == "+995555123456"


def test_every_export_is_one_audit_entry_listing_its_cases(users, returnees, orgs, browser_for):
    tasks(returnees)
    before = db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "worklist.export"))
    exported(browser_for(users["admin"]), "caritas")
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "worklist.export")).all()
    assert len(entries) == before + 1
    entry = entries[-1]
    assert entry.object_type == "organisations" and entry.object_id == "caritas"
    assert entry.actor == users["admin"].email
    assert entry.details["cases"] == ["AM-C-001/m1", "GE-C-001/m1", "GE-C-002/m1"]
    assert entry.details["contact"] is True
    text = json.dumps(entry.details)
    assert "Nino" not in text and "+995" not in text


def test_scoped_to_the_organisation(app, users, returnees, orgs, browser_for, tmp_path):
    tasks(returnees)
    assert exported(browser_for(users["iom"]), "caritas-ge").status_code == 404
    assert exported(browser_for(users["caritas-ge"]), "caritas").status_code == 404  # not its parent's
    assert exported(browser_for(users["caritas-ge"]), "nope").status_code == 404
    assert [r["name"] for r in case_list(unzip(exported(browser_for(users["caritas"]), "caritas-ge").data))] \
        == ["GE-C-001/m1"]
    assert [r["name"] for r in case_list(unzip(exported(browser_for(users["iom"])).data))] == ["GE-I-001/m1"]
    admin = browser_for(users["admin"])
    assert [r["name"] for r in case_list(unzip(exported(admin, "iom").data))] == ["GE-I-001/m1"]
    assert exported(admin, "nope").status_code == 404
    reply = exported(admin)  # which organisation? the admin opens one first
    assert reply.status_code == 302
    assert browser_for(users["analyst"]).post("/worklist/export").status_code == 403
    page = admin.get("/worklist/?organisation=iom").get_data(as_text=True)
    assert 'action="/worklist/export"' in page and 'value="iom"' in page
    assert 'action="/worklist/export"' not in admin.get("/worklist/").get_data(as_text=True)

    runner = app.test_cli_runner()
    out = tmp_path / "w.zip"
    result = runner.invoke(args=["export", "worklist", "--organisation", "caritas", "-o", str(out),
                                 "--user", users["iom"].email])
    assert result.exit_code == 1 and "may not export the work list of caritas" in result.output
    assert not out.exists()
    result = runner.invoke(args=["export", "worklist", "--organisation", "nope", "-o", str(out)])
    assert result.exit_code == 1 and "there is no organisation 'nope'" in result.output
    result = runner.invoke(args=["export", "worklist", "--organisation", "iom", "-o", str(tmp_path / "w.txt")])
    assert result.exit_code == 1 and "ending in .zip" in result.output


def test_the_export_button_posts_with_a_csrf_token(users, returnees, browser_for):
    tasks(returnees)
    browser = browser_for(users["caritas-ge"])
    page = browser.get("/worklist/").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/worklist/export"[^>]*>(.*?)</form>', page, re.S)
    assert form and 'name="csrf_token"' in form.group(1)
    assert browser.client.post("/worklist/export").status_code == 400  # no token


# -- submissions coming back ---------------------------------------------------------------------

def test_central_submissions_are_imported_once(returnees):
    tasks(returnees)
    report = imported(CENTRAL)
    assert report.errors == [] and report.written, [str(e) for e in report.errors]
    assert (report.rows, report.updated, report.skipped) == (3, 3, 0)
    visited = follow_up(returnees, "caritas-ge")
    assert visited.state == "closed" and visited.disposition == "1.1"
    assert visited.source_instance_id == "3c1f6a2e-8b0d-4e59-9d7a-5f2c1e0b7a41"
    assert visited.contacted_at is not None
    response = db.session.scalar(select(Response).where(Response.follow_up_id == visited.id))
    assert response.mode == "visit" and response.language == "ka" and response.imported
    # the end time, 11:42:10.512 in Tbilisi (+04:00)
    assert response.completed_at == datetime(2026, 11, 20, 7, 42, 10, 512000, tzinfo=timezone.utc)
    answers = response.answers
    assert answers["housing_situation"] == "family"  # a field in a group: housing-housing_situation
    assert answers["income_sources"] == ["work", "remittances"]  # space-separated multiple choice
    assert answers["heard_from"] == ["other_migrants", "family_friends"]  # the one that came first, first
    assert answers["decision_factors"] == ["no_work", "family_at_home", "homesickness"]
    assert answers["household_size"] == 4
    assert "asked_to_pay" in response.flags and response.score_composite is not None
    declined = follow_up(returnees, "caritas")
    assert declined.disposition == "2.11" and declined.source_instance_id.startswith("b7e0d9c4")
    assert db.session.scalar(select(Response).where(Response.follow_up_id == declined.id)) is None
    phoned = db.session.scalar(select(Response).where(Response.returnee_id == returnees["caritas-am"].id))
    assert phoned.mode == "phone" and phoned.language == "hy" and phoned.follow_up.disposition == "1.1"

    again = imported(CENTRAL)
    assert again.errors == [] and (again.rows, again.updated, again.created, again.skipped) == (3, 0, 0, 3)
    assert all("imported before; skipped" in str(w) for w in again.warnings)
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "response.import")
                               .order_by(AuditEntry.id)).all()[-1]
    assert audit.details["format"] == "ODK Central" and audit.details["skipped"] == 3


def test_kobo_submissions_are_imported_once_and_its_duplicates_skipped(returnees):
    tasks(returnees)
    report = imported(KOBO)
    assert report.errors == [] and report.written, [str(e) for e in report.errors]
    assert (report.rows, report.updated, report.skipped) == (3, 2, 1)
    assert any("line 3" in str(w) and "the same submission as line 2" in str(w) for w in report.warnings)
    visited = follow_up(returnees, "caritas-ge")
    response = db.session.scalar(select(Response).where(Response.follow_up_id == visited.id))
    assert visited.disposition == "1.1" and visited.source_instance_id == "9d2b6f10-3a7e-4c55-b8e1-2f6a0c9d4e77"
    assert response.answers["income_sources"] == ["work", "remittances"]  # not the split 1/0 columns
    assert response.answers["housing_situation"] == "family"  # housing/housing_situation
    assert response.completed_at == datetime(2026, 11, 22, 6, 36, 48, tzinfo=timezone.utc)
    assert follow_up(returnees, "caritas").disposition == "2.11"
    again = imported(KOBO)
    assert again.errors == [] and (again.updated, again.skipped) == (0, 3)


def test_a_second_different_submission_for_a_follow_up_is_a_line_numbered_error(returnees):
    tasks(returnees)
    # In one file: a second submission for GE-C-001's m1 follow-up, under another instance ID.
    lines = CENTRAL.decode().splitlines()
    other = lines[1].replace("3c1f6a2e-8b0d-4e59-9d7a-5f2c1e0b7a41", "11111111-2222-4333-8444-555555555555")
    report = imported(("\n".join([*lines, other]) + "\n").encode())
    assert not report.written
    assert [(e.line, e.code, e.message) for e in report.errors] == [
        (5, "GE-C-001", "a second submission for the m1 follow-up of this case (the first is on line 2)")]
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0

    # Across files: the follow-up keeps the submission imported first.
    assert imported(CENTRAL).written
    report = imported(KOBO)  # other instance IDs for GE-C-001 and GE-C-002, m1
    assert not report.written
    assert [(e.line, e.code) for e in report.errors] == [(2, "GE-C-001"), (4, "GE-C-002")]
    assert "has a submission already (3c1f6a2e" in report.errors[0].message
    assert follow_up(returnees, "caritas-ge").source_instance_id.startswith("3c1f6a2e")


def test_a_submission_without_its_follow_up_or_with_a_bad_key_is_refused(returnees):
    tasks({"caritas-ge": returnees["caritas-ge"]})  # GE-C-002 and AM-C-001 have no m1 follow-up
    report = imported(CENTRAL)
    assert not report.written
    assert {e.line for e in report.errors} == {3, 4}
    assert all("not one of a work list export" in e.message for e in report.errors)
    bad = CENTRAL.decode().replace("GE-C-001/m1", "GE-C-001", 1).encode()
    assert any("is not a key of the case list" in e.message for e in imported(bad).errors)


def test_a_submission_without_a_required_answer_is_not_complete(returnees):
    tasks(returnees)
    lines = CENTRAL.decode().splitlines()
    header = next(csv.reader([lines[0]]))
    row = next(csv.reader([lines[3]]))  # AM-C-001: housing and work answered
    row[header.index("income-work_status")] = ""  # a required answer missing
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, row])
    report = imported(buffer.getvalue().encode())
    assert report.written, [str(e) for e in report.errors]
    # work_status is required and comes before the partial threshold (health): a break-off
    assert follow_up(returnees, "caritas-am").disposition == "2.12"


def test_from_empty_as_an_operator_would(app, users, returnees, tmp_path):
    """Export with the command line, fill in the form (here: write what ODK Central would give
    back for the case list's rows), import with the command line."""
    tasks(returnees)
    runner = app.test_cli_runner()
    zipped = tmp_path / "worklist.zip"
    result = runner.invoke(args=["export", "worklist", "--organisation", "caritas", "-o", str(zipped),
                                 "--user", users["caritas"].email])
    assert result.exit_code == 0, result.output
    cases = case_list(unzip(zipped.read_bytes()))
    header = ["SubmissionDate", "start", "end", "case", "questionnaire_version", "mode", "language", "consent",
              "first_follow_up", "housing-housing_situation", "income-work_status", "income-income_sources",
              "meta-instanceID", "KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent",
              "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits", "FormVersion"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    version = str(registry.current().version)
    for n, case in enumerate(cases):
        uuid = f"uuid:00000000-0000-4000-8000-00000000000{n}"
        writer.writerow(["2026-11-23T10:00:00.000Z", "2026-11-23T12:00:00.000+04:00", "2026-11-23T12:30:00.000+04:00",
                         case["name"], version, "phone", case["language"], "agree", case["first"], "own", "employed",
                         "work family", uuid, uuid, "3", "caller", "0", "0", "", "", "collect:x", "0", "1"])
    submissions = tmp_path / "submissions.csv"
    submissions.write_text(buffer.getvalue())
    result = runner.invoke(import_responses_command, args=[str(submissions)])
    assert result.exit_code == 0, result.output
    assert "3 rows read: 0 created, 3 updated, 0 unchanged, 0 rejected" in result.output
    closed = db.session.scalars(select(FollowUp).where(FollowUp.state == "closed")).all()
    assert {(f.returnee.code, f.disposition) for f in closed} == {("AM-C-001", "1.1"), ("GE-C-001", "1.1"),
                                                                 ("GE-C-002", "1.1")}
    result = runner.invoke(import_responses_command, args=[str(submissions)])
    assert result.exit_code == 0 and "3 skipped" in result.output


def test_rejected_in_review_is_skipped_and_a_foreign_form_is_a_file_error(returnees):
    tasks(returnees)
    lines = CENTRAL.decode().splitlines()
    header = next(csv.reader([lines[0]]))
    row = next(csv.reader([lines[1]]))
    row[header.index("ReviewState")] = "rejected"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header + ["extra-question"], row + ["x"]])
    report = imported(buffer.getvalue().encode())
    assert report.errors == [] and report.skipped == 1
    assert any("rejected in review on ODK Central" in str(w) for w in report.warnings)
    assert any(w.line == 0 and "extra-question" in w.message for w in report.warnings)
    assert follow_up(returnees, "caritas-ge").state == "phone_task"
    other_form = "SubmissionDate,name,meta-instanceID,KEY\n2026-11-20T09:12:33.101Z,x,uuid:1,uuid:1\n".encode()
    report = imported(other_form)
    assert report.file_error and "not of the work list form: no column for case, consent" in str(report.errors[0])


def test_the_same_export_imported_twice_at_once_is_imported_once(app, returnees, monkeypatch):
    """Two operators import the same file at the same moment: each submission is written once,
    the other run finds it and skips it (no error, no second response)."""
    tasks(returnees)
    reports, barrier = [], threading.Barrier(2)
    both_read, first_reads = threading.Barrier(2), set()
    read = importing._read_submissions

    def read_then_wait(*args, **kwargs):
        rows = read(*args, **kwargs)
        if threading.get_ident() not in first_reads:  # both have read before either writes
            first_reads.add(threading.get_ident())
            both_read.wait(timeout=10)
        return rows

    monkeypatch.setattr(importing, "_read_submissions", read_then_wait)

    def run():
        with app.app_context():
            barrier.wait()
            reports.append(imported(CENTRAL))
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r.errors == [] and r.written for r in reports), [[str(e) for e in r.errors] for r in reports]
    assert sorted((r.updated, r.skipped) for r in reports) == [(0, 3), (3, 0)]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Response)) == 2
    closes = db.session.scalar(select(func.count()).select_from(FollowUp).where(FollowUp.state == "closed"))
    assert closes == 3


def test_the_zip_central_downloads_is_read_as_its_csv(returnees):
    tasks(returnees)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("worklist_caritas.csv", CENTRAL)
        archive.writestr("media/", b"")
    report = imported(buffer.getvalue())
    assert report.written and report.updated == 3, [str(e) for e in report.errors]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.csv", CENTRAL)
        archive.writestr("b.csv", KOBO)
    assert "2 CSV files" in str(imported(buffer.getvalue()).errors[0])
    assert "cannot be read" in str(imported(b"PK\x03\x04 broken").errors[0])
