"""The response CSV import (historical and paper data): the file contract, answers stored as
codes with scores and red flags, missing items, dispositions (AAPOR codes and the legacy names),
rows attached to the case's follow-up for their wave (created when none exists), the once-only
modules, line-numbered row errors, what is written and when, re-imports, responses completed in
the platform, the CLI and the audit entry.

A row's outcome is its follow-up's disposition; only 1.1, 1.2 and 2.12 rows store a response.

Every test runs on SQLite and on PostgreSQL (through the `app` fixture). The `returnees` fixture
gives GE-C-001, AM-C-001, GE-C-002 and GE-I-001, all returned on 2026-09-01.
"""
from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from monitor.extensions import db
from monitor.followups import operations as followups
from monitor.models import AuditEntry, FollowUp, Response, ResponseAnswer, Returnee, Wave
from monitor.responses import operations
from monitor.responses.cli import import_responses_command
from monitor.responses.importing import import_responses
from surveys import registry
from surveys.scoring import score
from tests.conftest import make_follow_up, make_returnee

FIXED = ["code", "wave", "mode", "date", "disposition"]
TODAY = date(2026, 11, 24)

# A complete first follow-up, by hand:
#   economic     work_status employed 1 x2, food_cut often 0 x2                     -> 2/4   = 0.5
#   social       housing_situation rented 1 x2, housing_can_stay yes 1 x1,
#                physical_health 3 -> 0.5 x1, medication_available no 0 x2          -> 3.5/6 = 0.5833
#   psychosocial distress often 0.33 x2, feels_safe not_safe 0 x2                   -> 0.66/4 = 0.165
FULL_ITEMS = ["housing_situation", "housing_can_stay", "work_status", "income_sources", "food_cut",
              "household_size", "physical_health", "medication_needed", "medication_available", "distress",
              "wants_support", "heard_from", "heard_from_other", "decision_factors", "feels_safe",
              "business_started", "business_start_date"]
FULL_CELLS = {
    "housing_situation": "rented", "housing_can_stay": "yes", "work_status": "employed",
    "income_sources": "work;remittances", "food_cut": "often", "household_size": "4", "physical_health": "3",
    "medication_needed": "yes", "medication_available": "no", "distress": "often", "wants_support": "yes",
    "heard_from": "family_friends;website;other", "heard_from_other": "a  neighbour",
    "decision_factors": "no_work;family_at_home;homesickness", "feels_safe": "not_safe",
    "business_started": "yes", "business_start_date": "2026-10-01",
}
FULL_ANSWERS = {
    "housing_situation": "rented", "housing_can_stay": "yes", "work_status": "employed",
    "income_sources": ["work", "remittances"], "food_cut": "often", "household_size": 4, "physical_health": 3,
    "medication_needed": "yes", "medication_available": "no", "distress": "often", "wants_support": "yes",
    "heard_from": ["family_friends", "website", "other"], "heard_from_other": "a neighbour",
    "decision_factors": ["no_work", "family_at_home", "homesickness"], "feels_safe": "not_safe",
    "business_started": "yes", "business_start_date": "2026-10-01",
}
FULL_FLAGS = ["distress_wants_support", "feels_unsafe", "food_cut_often", "medication_unavailable"]


# -- helpers ------------------------------------------------------------------------------------

def row(code, wave="m1", mode="phone", date="2026-10-05", disposition="1.1", **cells) -> dict:
    return {"code": code, "wave": wave, "mode": mode, "date": date, "disposition": disposition, **cells}


def csv_file(*rows, items=(), delimiter=",", eol="\n", bom=False) -> bytes:
    """A header of the fixed columns and `items`, then the rows (quoted as Excel quotes them)."""
    columns = FIXED + list(items)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=eol)
    writer.writerow(columns)
    for cells in rows:
        writer.writerow([cells.get(column, "") for column in columns])
    data = out.getvalue().encode()
    return b"\xef\xbb\xbf" + data if bom else data


def run(data: bytes, **options):
    return import_responses(data, today=TODAY, actor="test", filename="responses.csv", **options)


def errors(report):
    return [(e.line, e.code, e.message) for e in report.errors]


def committed_count(table="responses") -> int:
    """Rows as another connection sees them: what an import really wrote (committed)."""
    with db.engine.connect() as conn:
        return conn.scalar(sa.text(f"SELECT count(*) FROM {table}"))


def counts() -> tuple[int, int, int]:
    return committed_count(), committed_count("response_answers"), committed_count("response_flags")


def response(code, wave) -> Response | None:
    db.session.expire_all()  # see what other sessions (CLI) committed
    return db.session.scalar(select(Response).join(Response.returnee).where(Returnee.code == code, Response.wave == wave))


def follow_up(code, wave) -> FollowUp | None:
    db.session.expire_all()
    return db.session.scalar(select(FollowUp).join(FollowUp.returnee).where(Returnee.code == code,
                                                                            FollowUp.wave == wave))


def no_scores() -> dict:
    return {"economic": None, "social": None, "psychosocial": None, "composite": None}


def import_audits():
    db.session.expire_all()
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "response.import").order_by(AuditEntry.id)).all()


def noon(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=timezone.utc)


def cli(app, tmp_path, data: bytes, *options):
    path = tmp_path / "responses.csv"
    path.write_bytes(data)
    return app.test_cli_runner().invoke(import_responses_command, args=[*options, str(path)])


# -- a valid file -------------------------------------------------------------------------------

def test_a_valid_file_stores_codes_scores_and_flags(returnees):
    data = csv_file(
        row("GE-C-001", **FULL_CELLS),
        row("GE-I-001", wave="m6", mode="sms-web", date="2026-11-20", disposition="1.2",
            housing_situation="family", work_status="looking", medication_needed="no"),
        items=FULL_ITEMS)
    report = run(data)

    assert report.errors == [] and report.warnings == [] and report.written
    assert (report.rows, report.created, report.updated, report.unchanged) == (2, 2, 0, 0)
    assert committed_count() == 2

    first = response("GE-C-001", "m1")
    assert first.answers == FULL_ANSWERS
    assert operations.stored_answers(first) == FULL_ANSWERS
    assert (first.mode, first.disposition, first.language) == ("phone", "1.1", "ka")
    assert (first.questionnaire_code, first.questionnaire_version, first.first_follow_up) == ("standard", 2, True)
    assert first.completed_at == noon("2026-10-05") and first.started_at == noon("2026-10-05")
    assert first.interviewer_id is None
    # Multiple choice and ranking keep their order: first-marked and rank 1 at position 0.
    heard = [(a.position, a.code) for a in first.answer_rows if a.item == "heard_from"]
    assert heard == [(0, "family_friends"), (1, "website"), (2, "other")]
    ranked = [(a.position, a.code) for a in first.answer_rows if a.item == "decision_factors"]
    assert ranked == [(0, "no_work"), (1, "family_at_home"), (2, "homesickness")]
    number = next(a for a in first.answer_rows if a.item == "household_size")
    assert (number.code, number.number, number.text) == (None, 4.0, None)

    expected = score(registry.current(), FULL_ANSWERS)
    assert first.scores == {**expected.dimensions, "composite": expected.composite}
    # Scoring rules 2: economic (4 of 9 weight answered) and psychosocial (4 of 14) are below half.
    assert (first.score_economic, first.score_social, first.score_psychosocial) == (None, 0.5833, None)
    assert first.score_composite is None
    assert first.flags == FULL_FLAGS

    second = response("GE-I-001", "m6")
    answers = {"housing_situation": "family", "work_status": "looking", "medication_needed": "no"}
    assert second.answers == answers
    # GE-I-001's first response, whatever its wave: it asked the once-only modules.
    assert (second.mode, second.disposition, second.first_follow_up) == ("sms-web", "1.2", True)
    assert second.completed_at == noon("2026-11-20")
    expected = score(registry.current(), answers)
    assert second.scores == {**expected.dimensions, "composite": expected.composite}
    assert (second.score_economic, second.score_social, second.score_psychosocial) == (None, None, None)  # too few
    assert second.flags == []

    # Each response belongs to the follow-up of its case and wave, closed with the row's code.
    for stored, code, wave, day in ((first, "GE-C-001", "m1", "2026-10-05"), (second, "GE-I-001", "m6", "2026-11-20")):
        made = follow_up(code, wave)
        assert stored.follow_up_id == made.id
        assert (made.state, made.disposition, made.closed_at) == ("closed", stored.disposition, noon(day))
    assert committed_count("follow_ups") == 2


def test_missing_items_are_stored_as_missing_never_invented(returnees):
    data = csv_file(row("GE-C-001", housing_situation="own", work_status="", food_cut="  "),
                    items=["housing_situation", "work_status", "food_cut", "heard_from"])
    report = run(data)
    assert report.errors == [] and report.created == 1

    stored = response("GE-C-001", "m1")
    assert stored.answers == {"housing_situation": "own"}
    assert [(a.item, a.code) for a in stored.answer_rows] == [("housing_situation", "own")]
    assert committed_count("response_answers") == 1
    # Required work_status is missing: accepted, and its dimension has no score.
    assert stored.scores == {"economic": None, "social": None, "psychosocial": None, "composite": None}
    assert stored.flags == []


def test_an_explicit_version_is_used_and_an_unknown_one_is_a_file_error(returnees):
    report = run(csv_file(row("GE-C-001", housing_situation="own"), items=["housing_situation"]), version=1)
    assert report.errors == [] and report.created == 1
    assert response("GE-C-001", "m1").questionnaire_version == 1

    report = run(csv_file(row("GE-C-002", housing_situation="own"), items=["housing_situation"]), version=7)
    assert errors(report) == [(0, None, "questionnaire standard has no version 7 (published: 1, 2)")]
    assert committed_count() == 1


# -- dispositions -------------------------------------------------------------------------------

# The old disposition names and the AAPOR code each is imported as, written out here rather than
# read from scheduler/dispositions.py: a change to the mapping must show up as a failing test.
LEGACY = [("complete", "1.1"), ("partial", "1.2"), ("refusal", "2.11"), ("cancelled", "2.112"),
          ("non-contact", "2.20"), ("other", "2.36"), ("unknown-eligibility", "3.90"), ("not-eligible", "4.10")]
CODES = ["1.1", "1.2", "2.11", "2.112", "2.12", "2.20", "2.21", "2.31", "2.32", "2.33", "2.36", "2.361", "3.90",
         "4.10"]
WITH_ANSWERS = ("1.1", "1.2", "2.12")


@pytest.mark.parametrize("name, code", LEGACY)
def test_each_legacy_name_imports_as_its_code(returnees, name, code):
    cells = {"feels_safe": "not_safe"} if code in WITH_ANSWERS else {}
    report = run(csv_file(row("GE-C-001", disposition=name, **cells), items=["feels_safe"]))
    assert report.errors == [] and report.warnings == [] and report.created == 1
    made = follow_up("GE-C-001", "m1")
    assert (made.state, made.disposition, made.closed_at) == ("closed", code, noon("2026-10-05"))
    stored = response("GE-C-001", "m1")
    if code in WITH_ANSWERS:
        assert (stored.disposition, stored.answers) == (code, {"feels_safe": "not_safe"})
    else:
        assert stored is None


@pytest.mark.parametrize("code", CODES)
def test_aapor_codes_are_accepted_as_such(returnees, code):
    cells = {"feels_safe": "not_safe"} if code in WITH_ANSWERS else {}
    report = run(csv_file(row("GE-C-001", wave="m6", disposition=f" {code} ", date="2026-11-02", **cells),
                          items=["feels_safe"]))
    assert report.errors == [] and report.warnings == [] and report.created == 1
    made = follow_up("GE-C-001", "m6")
    assert (made.state, made.disposition, made.closed_at) == ("closed", code, noon("2026-11-02"))
    assert (made.source, made.sample_draw_id, made.stratum_id, made.inclusion_probability) == (
        "imported", None, None, None)
    stored = response("GE-C-001", "m6")
    assert (stored is not None) == (code in WITH_ANSWERS)
    # Importing it again changes nothing.
    again = run(csv_file(row("GE-C-001", wave="m6", disposition=code, date="2026-11-02", **cells),
                         items=["feels_safe"]))
    assert again.errors == [] and (again.created, again.updated, again.unchanged) == (0, 0, 1)


@pytest.mark.parametrize("disposition", ["2.11", "2.20", "2.36", "3.90", "4.10", "2.112", "2.21", "2.31"])
def test_dispositions_without_answers_store_the_outcome_on_the_follow_up_only(returnees, disposition):
    report = run(csv_file(row("GE-C-001", wave="m6", disposition=disposition, date="2026-11-02"),
                          items=["housing_situation", "heard_from"]))
    assert report.errors == [] and report.created == 1
    assert response("GE-C-001", "m6") is None
    made = follow_up("GE-C-001", "m6")
    assert (made.state, made.disposition, made.closed_at, made.next_action_at) == (
        "closed", disposition, noon("2026-11-02"), None)
    assert counts() == (0, 0, 0) and committed_count("follow_ups") == 1


@pytest.mark.parametrize("disposition", ["1.1", "1.2"])
def test_completed_dispositions_get_answers_and_scores(returnees, disposition):
    report = run(csv_file(row("GE-C-001", disposition=disposition, feels_safe="not_safe"), items=["feels_safe"]))
    assert report.errors == [] and report.created == 1
    stored = response("GE-C-001", "m1")
    assert (stored.disposition, stored.answers) == (disposition, {"feels_safe": "not_safe"})
    assert stored.scores == {"economic": None, "social": None, "psychosocial": None, "composite": None}
    assert stored.flags == ["feels_unsafe"]


def test_a_break_off_with_answers_raises_red_flags_without_scores(returnees):
    report = run(csv_file(row("GE-C-001", disposition="2.12", housing_situation="shelter", feels_safe="not_safe",
                              work_status="employed"),
                          items=["housing_situation", "work_status", "feels_safe"]))
    assert report.errors == [] and report.created == 1
    stored = response("GE-C-001", "m1")
    assert (stored.disposition, stored.completed_at) == ("2.12", noon("2026-10-05"))
    assert stored.answers == {"housing_situation": "shelter", "work_status": "employed", "feels_safe": "not_safe"}
    assert stored.flags == ["feels_unsafe", "no_shelter"]
    assert stored.scores == no_scores()
    assert counts() == (1, 3, 2)


def test_a_break_off_may_have_no_answers(returnees):
    report = run(csv_file(row("GE-C-001", disposition="2.12"), items=["housing_situation"]))
    assert report.errors == [] and report.created == 1
    assert follow_up("GE-C-001", "m1").disposition == "2.12"
    stored = response("GE-C-001", "m1")
    assert (stored.answers, stored.flags, stored.scores) == ({}, [], no_scores())


def test_disposition_spellings(returnees):
    report = run(csv_file(row("GE-C-001", disposition="Non contact", wave=" M1 "),
                          row("GE-C-002", disposition=" COMPLETE ", mode="SMS_web", housing_situation="own"),
                          row("AM-C-001", disposition="unknown_eligibility"), items=["housing_situation"]))
    assert report.errors == []
    assert follow_up("GE-C-001", "m1").disposition == "2.20"
    assert follow_up("AM-C-001", "m1").disposition == "3.90"
    stored = response("GE-C-002", "m1")
    assert (stored.disposition, stored.mode, stored.wave) == ("1.1", "sms-web", "m1")


def test_an_unknown_disposition_lists_the_codes_and_the_old_names(returnees):
    report = run(csv_file(row("GE-C-001", disposition="done", housing_situation="own"), items=["housing_situation"]))
    assert errors(report) == [(2, "GE-C-001", f"column disposition: 'done' is not a disposition: {USE_DISPOSITION}")]
    assert committed_count("follow_ups") == 0


def test_answers_on_a_disposition_without_answers_and_a_completed_one_without_answers(returnees):
    report = run(csv_file(
        row("GE-C-001", disposition="refusal", housing_situation="own", heard_from="website"),
        row("GE-C-002", disposition="1.1"),
        row("AM-C-001", disposition="partial", housing_situation=" "),
        row("GE-I-001", disposition="2.20", feels_safe="safe"),
        items=["housing_situation", "heard_from", "feels_safe"]))
    assert errors(report) == [
        (2, "GE-C-001", "column disposition: a 2.11 response has no answers: leave housing_situation, heard_from empty"),
        (3, "GE-C-002", "column disposition: a 1.1 response needs at least one answer"),
        (4, "AM-C-001", "column disposition: a 1.2 response needs at least one answer"),
        (5, "GE-I-001", "column disposition: a 2.20 response has no answers: leave feels_safe empty"),
    ]
    assert committed_count() == 0 and committed_count("follow_ups") == 0


# -- bad rows -----------------------------------------------------------------------------------

HOUSING = "own, rented, family, friends, shelter, no_fixed_place, other"
USE_DISPOSITION = ("use an AAPOR code (1.1, 1.2, 2.11, 2.112, 2.12, 2.20, 2.21, 2.31, 2.32, 2.33, 2.36, 2.361, "
                   "3.90, 4.10) or complete, partial, refusal, cancelled, non-contact, other, unknown-eligibility, "
                   "not-eligible")
ONCE_ONLY = ("module is asked only at the returnee's first response (the earliest row of the case, if no response "
             "of it is stored)")


def test_bad_rows_are_reported_with_their_line_and_column(orgs, returnees):
    make_returnee(orgs["iom"], "GE-I-002", orgs["iom-ge"])
    db.session.commit()
    items = ["housing_situation", "decision_factors", "heard_from", "physical_health", "household_size"]
    data = csv_file(
        row("GE-C-001", housing_situation="own"),                                       # 2 valid
        row("XX-999", housing_situation="own"),                                         # 3
        row("GE-C-002", wave="m3", housing_situation="own"),                            # 4
        row("AM-C-001", mode="sms", housing_situation="own"),                           # 5
        row("GE-I-001", date="05/10/2026", housing_situation="own"),                    # 6
        row("GE-C-002", wave="m6", date="2026-11-31", housing_situation="own"),         # 7
        row("GE-C-002", wave="m12", date="2026-12-01", housing_situation="own"),        # 8
        row("AM-C-001", wave="m6", date="2026-08-31", housing_situation="own"),         # 9
        row("AM-C-001", wave="m12", disposition="done", housing_situation="own"),       # 10
        row("GE-I-001", wave="m6", housing_situation="castle"),                         # 11
        row("GE-I-001", wave="m12", decision_factors="no_work;no_work"),                # 12 (not its first: see 16)
        row("GE-C-001", wave="m6", housing_situation="own",                             # 13 (line 2 is its first)
            heard_from="website;tv;radio"),
        row("GE-C-002", wave="m1", date="2026-10-04",                                   # 14 (its first)
            decision_factors="no_work;homesickness;other;no_legal_stay"),
        row("GE-C-001", wave="m12", housing_situation="own", physical_health="7", household_size="x"),  # 15
        row("GE-I-002", wave="m1", decision_factors="no_work;no_work"),                 # 16
        row("", wave="m1", housing_situation="own"),                                    # 17
        items=items)
    report = run(data)
    assert errors(report) == [
        (3, "XX-999", "column code: no returnee has the code 'XX-999'"),
        (4, "GE-C-002", "column wave: 'm3' is not a wave: use m1, m6, m12"),
        (5, "AM-C-001", "column mode: 'sms' is not a mode: use sms-web, phone, visit, import"),
        (6, "GE-I-001", "column date: '05/10/2026' is not written YYYY-MM-DD"),
        (7, "GE-C-002", "column date: 2026-11-31 does not exist"),
        (8, "GE-C-002", "column date: 2026-12-01 is in the future"),
        (9, "AM-C-001", "column date: 2026-08-31 is before the return date 2026-09-01"),
        (10, "AM-C-001", f"column disposition: 'done' is not a disposition: {USE_DISPOSITION}"),
        (11, "GE-I-001", f"column housing_situation: unknown answer code 'castle': use {HOUSING}"),
        (12, "GE-I-001", f"column decision_factors: the decision {ONCE_ONLY}"),
        (13, "GE-C-001", f"column heard_from: the heard {ONCE_ONLY}"),
        (14, "GE-C-002", "column decision_factors: 'no_work;homesickness;other;no_legal_stay': "
                         "Please choose one to three answers, most important first."),
        (15, "GE-C-001", "column physical_health: '7': Please choose a point on the scale."),
        (15, "GE-C-001", "column household_size: 'x': Please give a whole number."),
        (16, "GE-I-002", "column decision_factors: 'no_work;no_work': Choose a different answer for each rank."),
        (17, None, "column code: the case code is empty"),
    ]
    assert (report.rows, report.rejected, report.written) == (16, 15, False)
    assert committed_count() == 0 and import_audits() == []


def test_unknown_option_codes_in_a_multiple_choice_are_named(returnees):
    report = run(csv_file(row("GE-C-001", heard_from="website;tv;radio"), items=["heard_from"]))
    [(line, code, message)] = errors(report)
    assert (line, code) == (2, "GE-C-001")
    assert message.startswith("column heard_from: unknown answer code 'tv', 'radio': use order_to_leave, ")


def test_a_text_answer_that_is_too_long_is_not_repeated(returnees):
    secret = "x" * 301
    report = run(csv_file(row("GE-C-001", housing_situation="other", housing_other=secret),
                          items=["housing_situation", "housing_other"]))
    assert errors(report) == [(2, "GE-C-001", "column housing_other: Please keep it under 300 characters.")]


def test_the_same_case_and_wave_twice_in_a_file(returnees):
    report = run(csv_file(row("GE-C-001", housing_situation="own"), row("GE-C-001", wave="m6", housing_situation="own"),
                          row("GE-C-001", wave="M1", housing_situation="rented"), items=["housing_situation"]))
    assert errors(report) == [(4, "GE-C-001", "the m1 response of this case is already on line 2")]


def test_unknown_item_columns_are_a_file_error(returnees):
    report = run(csv_file(row("GE-C-001", housing_situatoin="own"), items=["housing_situatoin", "feels_safe"]))
    assert errors(report) == [(0, None, "unknown columns: housing_situatoin; "
                                        "an item column is named by an item code of questionnaire standard-v2")]
    assert str(report.errors[0]).startswith("file: unknown columns: housing_situatoin")
    assert report.file_error and not report.written

    # Even with --skip-invalid nothing is written: the column's answers would be lost.
    report = run(csv_file(row("GE-C-001", housing_situatoin="own"), items=["housing_situatoin"]), skip_invalid=True)
    assert report.file_error and committed_count() == 0


def test_missing_and_repeated_fixed_columns(returnees):
    report = run(b"code,wave,mode,feels_safe,feels_safe\nGE-C-001,m1,phone,safe,safe\n")
    assert errors(report) == [(0, None, "missing columns: date, disposition; columns given twice: feels_safe")]


def test_a_file_that_cannot_be_read(returnees):
    assert errors(run(b"")) == [(0, None, "the file is empty")]
    assert errors(run(",".join(FIXED).encode() + b"\n")) == [(0, None, "the file has a header but no rows")]
    data = (",".join(FIXED) + ",heard_from_other\nGE-C-001,m1,phone,2026-10-05,complete,Géorgie\n").encode("cp1252")
    assert errors(run(data)) == [(0, None, 'the file is not UTF-8 text: in Excel, save it as "CSV UTF-8"')]


def test_answers_the_skip_logic_would_not_ask_are_stored_with_a_warning(returnees):
    report = run(csv_file(row("GE-C-001", housing_situation="own", housing_other="a tent", business_running="no"),
                          items=["housing_situation", "housing_other", "business_running"]))
    assert report.errors == [] and report.created == 1
    assert [(w.line, w.code, w.message) for w in report.warnings] == [
        (2, "GE-C-001", "columns housing_other, business_running: answered although the questionnaire skips them "
                        "given the other answers; stored, not scored")]
    stored = response("GE-C-001", "m1")
    assert stored.answers == {"housing_situation": "own", "housing_other": "a tent", "business_running": "no"}
    assert stored.score_economic is None  # business_running is hidden: not scored


# -- what is written and when -------------------------------------------------------------------

def mixed_file() -> bytes:
    """Line 2 valid, line 3 an unknown code, line 4 an invalid option code."""
    return csv_file(row("GE-C-001", housing_situation="own"), row("XX-1", housing_situation="own"),
                    row("GE-C-002", housing_situation="castle"), items=["housing_situation"])


MIXED_ERRORS = [
    "error: line 3 (XX-1): column code: no returnee has the code 'XX-1'",
    f"error: line 4 (GE-C-002): column housing_situation: unknown answer code 'castle': use {HOUSING}",
]


def test_dry_run_writes_nothing(returnees):
    report = run(csv_file(row("GE-C-001", **FULL_CELLS), items=FULL_ITEMS), dry_run=True)
    assert report.errors == [] and report.rows == 1 and not report.written
    assert (report.created, report.updated) == (0, 0)
    assert counts() == (0, 0, 0) and import_audits() == []
    assert committed_count("follow_ups") == 0


def test_by_default_an_invalid_row_stops_the_whole_import(returnees):
    report = run(mixed_file())
    assert (report.rows, report.rejected, report.written) == (3, 2, False)
    assert counts() == (0, 0, 0) and import_audits() == []
    assert committed_count("follow_ups") == 0


def test_skip_invalid_writes_the_valid_rows(returnees):
    report = run(mixed_file(), skip_invalid=True)
    assert (report.rows, report.rejected, report.created, report.written) == (3, 2, 1, True)
    assert counts() == (1, 1, 0)
    assert response("GE-C-001", "m1").answers == {"housing_situation": "own"}
    assert response("GE-C-002", "m1") is None


def test_reimport_updates_in_place(returnees):
    items = FULL_ITEMS
    first = csv_file(row("GE-C-001", **FULL_CELLS), row("GE-C-002", wave="m6", disposition="non-contact"), items=items)
    assert run(first).created == 2
    before = counts()
    assert before == (1, 22, 4)  # 17 answers, of which two lists of 3 codes and one of 2: 22 rows; 2.20: none
    assert committed_count("follow_ups") == 2
    follow_up_ids = (follow_up("GE-C-001", "m1").id, follow_up("GE-C-002", "m6").id)
    response_id = response("GE-C-001", "m1").id

    again = run(first)
    assert (again.created, again.updated, again.unchanged, again.written) == (0, 0, 2, True)
    assert again.warnings == []
    assert counts() == before and committed_count("follow_ups") == 2

    changed = dict(FULL_CELLS, feels_safe="safe", medication_available="", heard_from="website")
    report = run(csv_file(row("GE-C-001", date="2026-10-07", **changed),
                          row("GE-C-002", wave="m6", disposition="complete", housing_situation="shelter",
                              date="2026-11-03"),
                          items=items))
    assert report.errors == []
    assert [(w.line, w.message) for w in report.warnings] == [  # heard_from no longer includes other
        (2, "columns heard_from_other: answered although the questionnaire skips them given the other answers; "
            "stored, not scored")]
    assert (report.created, report.updated, report.unchanged) == (0, 2, 0)
    assert counts() == (2, 22 - 1 - 2 + 1, 3)  # no medication_available, heard_from 1 code, GE-C-002 1 answer
    assert (follow_up("GE-C-001", "m1").id, follow_up("GE-C-002", "m6").id) == follow_up_ids
    assert committed_count("follow_ups") == 2
    first_response, second_response = response("GE-C-001", "m1"), response("GE-C-002", "m6")
    assert first_response.id == response_id
    assert second_response.follow_up_id == follow_up_ids[1]
    expected = {k: v for k, v in FULL_ANSWERS.items() if k != "medication_available"}
    expected.update(feels_safe="safe", heard_from=["website"])
    assert first_response.answers == expected
    assert first_response.completed_at == noon("2026-10-07") and first_response.started_at == noon("2026-10-07")
    assert first_response.follow_up.closed_at == noon("2026-10-07")
    assert first_response.flags == ["distress_wants_support", "food_cut_often"]
    scores = score(registry.current(), expected)
    assert first_response.scores == {**scores.dimensions, "composite": scores.composite}
    assert (second_response.disposition, second_response.answers) == ("1.1", {"housing_situation": "shelter"})
    assert second_response.follow_up.closed_at == noon("2026-11-03")
    assert second_response.flags == ["no_shelter"] and second_response.score_social is None  # 2 of 7 weight

    # Back to a refusal: the response, its answers, scores and flags go; the follow-up says 2.11.
    report = run(csv_file(row("GE-C-002", wave="m6", disposition="refusal", date="2026-11-04")))
    assert report.errors == [] and report.warnings == [] and report.updated == 1
    assert response("GE-C-002", "m6") is None
    made = follow_up("GE-C-002", "m6")
    assert (made.id, made.state, made.disposition, made.closed_at) == (
        follow_up_ids[1], "closed", "2.11", noon("2026-11-04"))
    assert counts() == (1, 19, 2) and committed_count("follow_ups") == 2
    assert len(import_audits()) == 4


def test_reimporting_the_same_file_is_reported_unchanged(returnees):
    make_follow_up(returnees["caritas"], "m1")  # GE-C-002: planned
    db.session.commit()
    data = csv_file(row("GE-C-001", **FULL_CELLS),
                    row("GE-C-002", disposition="partial", housing_situation="own"),
                    row("AM-C-001", wave="m6", disposition="2.12", feels_safe="not_safe", date="2026-11-02"),
                    row("GE-I-001", wave="m12", disposition="2.361", date="2026-11-03"),
                    row("GE-I-001", wave="m6", disposition="4.10", date="2026-11-01"),
                    items=FULL_ITEMS)
    report = run(data)
    assert report.errors == [] and report.warnings == []
    assert (report.created, report.updated, report.unchanged) == (4, 1, 0)
    stored = (counts(), committed_count("follow_ups"), committed_count("follow_up_events"))
    assert stored[:2] == ((3, 22 + 1 + 1, 4 + 1), 5)

    for _ in range(2):
        again = run(data)
        assert again.errors == [] and again.warnings == [] and again.written
        assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
        assert (counts(), committed_count("follow_ups"), committed_count("follow_up_events")) == stored
    assert len(import_audits()) == 3


def test_reimport_from_complete_to_refusal_removes_the_imported_response(returnees):
    assert run(csv_file(row("GE-C-001", feels_safe="not_safe", housing_situation="own"),
                        items=["feels_safe", "housing_situation"])).created == 1
    made = follow_up("GE-C-001", "m1")
    assert (made.disposition, response("GE-C-001", "m1").flags) == ("1.1", ["feels_unsafe"])
    assert counts() == (1, 2, 1)

    report = run(csv_file(row("GE-C-001", disposition="2.11", date="2026-10-06"), items=["feels_safe"]))
    assert report.errors == [] and report.warnings == []
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    assert response("GE-C-001", "m1") is None
    after = follow_up("GE-C-001", "m1")
    assert (after.id, after.state, after.disposition, after.closed_at) == (
        made.id, "closed", "2.11", noon("2026-10-06"))
    assert counts() == (0, 0, 0) and committed_count("follow_ups") == 1

    again = run(csv_file(row("GE-C-001", disposition="refusal", date="2026-10-06")))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)

    # And back: a new response on the same follow-up.
    report = run(csv_file(row("GE-C-001", disposition="1.1", date="2026-10-07", feels_safe="safe"),
                          items=["feels_safe"]))
    assert report.errors == [] and report.updated == 1
    stored = response("GE-C-001", "m1")
    assert (stored.follow_up_id, stored.disposition, stored.answers, stored.flags) == (
        made.id, "1.1", {"feels_safe": "safe"}, [])
    assert stored.score_psychosocial is None and stored.first_follow_up  # one item: under half the weight
    assert committed_count("follow_ups") == 1


# -- follow-ups ---------------------------------------------------------------------------------

def test_a_row_without_a_follow_up_creates_one_outside_the_draw(returnees):
    report = run(csv_file(row("GE-C-001", wave="m6", date="2026-11-10", housing_situation="own"),
                          row("GE-C-002", wave="m12", date="2026-11-11", disposition="2.20"),
                          items=["housing_situation"]))
    assert report.errors == [] and report.created == 2
    made = follow_up("GE-C-001", "m6")
    assert (made.source, made.sample_draw_id, made.stratum_id, made.inclusion_probability) == (
        "imported", None, None, None)
    assert (made.state, made.disposition, made.closed_at, made.next_action_at) == (
        "closed", "1.1", noon("2026-11-10"), None)
    # Its window is the wave's, from the return date (2026-09-01; m6 is due 182 days later).
    assert (made.due_date, made.window_opens, made.window_closes) == (
        date(2027, 3, 2), date(2027, 3, 2), date(2027, 4, 16))
    assert made.channel == "sms"
    assert response("GE-C-001", "m6").follow_up_id == made.id
    [event] = made.events
    assert (event.transition, event.from_state, event.to_state, event.at) == (
        "close", "planned", "closed", noon("2026-11-10"))

    no_answers = follow_up("GE-C-002", "m12")
    assert (no_answers.source, no_answers.inclusion_probability, no_answers.sample_draw_id) == ("imported", None, None)
    assert (no_answers.disposition, no_answers.closed_at) == ("2.20", noon("2026-11-11"))
    assert committed_count("follow_ups") == 2 and committed_count() == 1


def test_a_row_for_a_planned_follow_up_attaches_to_it_and_closes_it(returnees):
    planned = make_follow_up(returnees["caritas-ge"], "m1")
    db.session.commit()
    planned_id = planned.id

    report = run(csv_file(row("GE-C-001", disposition="1.2", feels_safe="not_safe"), items=["feels_safe"]))
    assert report.errors == [] and report.warnings == []
    # The follow-up was there: the row updates it (with a new response).
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    assert committed_count("follow_ups") == 1 and committed_count() == 1
    made = follow_up("GE-C-001", "m1")
    assert made.id == planned_id
    assert (made.source, made.inclusion_probability) == ("planned", 1.0)
    assert (made.state, made.disposition, made.closed_at, made.next_action_at) == (
        "closed", "1.2", noon("2026-10-05"), None)
    stored = response("GE-C-001", "m1")
    assert (stored.follow_up_id, stored.disposition, stored.imported) == (planned_id, "1.2", True)
    assert stored.flags == ["feels_unsafe"] and stored.score_psychosocial is None  # one item: under half the weight

    again = run(csv_file(row("GE-C-001", disposition="partial", feels_safe="not_safe"), items=["feels_safe"]))
    assert again.warnings == [] and (again.created, again.updated, again.unchanged) == (0, 0, 1)


@pytest.mark.parametrize("code", ["2.11", "2.31", "4.10"])
def test_a_row_without_answers_closes_a_planned_follow_up_with_its_code(returnees, code):
    planned = make_follow_up(returnees["caritas-ge"], "m6")
    db.session.commit()
    report = run(csv_file(row("GE-C-001", wave="m6", disposition=code, date="2026-11-02")))
    assert report.errors == [] and report.warnings == []
    made = follow_up("GE-C-001", "m6")
    assert (made.id, made.state, made.disposition, made.closed_at) == (planned.id, "closed", code, noon("2026-11-02"))
    assert committed_count() == 0 and committed_count("follow_ups") == 1


def test_a_follow_up_closed_in_the_platform_without_a_response_is_recorded_with_a_warning(returnees):
    planned = make_follow_up(returnees["caritas-ge"], "m1")
    followups.close(planned, "window_closed", actor="dispatcher")
    db.session.commit()
    assert planned.disposition == "2.20"

    report = run(csv_file(row("GE-C-001", disposition="refusal")))
    assert report.errors == []
    assert [(w.line, w.message) for w in report.warnings] == [
        (2, "the m1 follow-up closed in the platform as 2.20 is recorded as 2.11")]
    made = follow_up("GE-C-001", "m1")
    assert (made.id, made.disposition, made.closed_at) == (planned.id, "2.11", noon("2026-10-05"))
    assert committed_count() == 0

    again = run(csv_file(row("GE-C-001", disposition="refusal")))
    assert again.warnings == [] and again.unchanged == 1


def test_changing_what_an_import_recorded_on_a_planned_follow_up_does_not_blame_the_platform(returnees):
    make_follow_up(returnees["caritas-ge"], "m1")
    db.session.commit()
    first = run(csv_file(row("GE-C-001", housing_situation="own"), items=["housing_situation"]))
    assert first.errors == [] and first.warnings == []

    report = run(csv_file(row("GE-C-001", disposition="2.11")))
    assert report.errors == [] and report.updated == 1
    assert follow_up("GE-C-001", "m1").disposition == "2.11"
    assert report.warnings == []  # today: "the m1 follow-up closed in the platform as 1.1 is recorded as 2.11"


def test_a_wave_added_to_the_plan_is_accepted(returnees):
    db.session.add(Wave(code="m24", due_days=730, opens_days_before=0, closes_days_after=60, sampled=True,
                        fraction=0.5, min_per_stratum=5, active=True))
    db.session.commit()
    report = run(csv_file(row("GE-C-001", wave="M24", housing_situation="own"), row("GE-C-002", wave="m3"),
                          items=["housing_situation"]))
    assert errors(report) == [(3, "GE-C-002", "column wave: 'm3' is not a wave: use m1, m6, m12, m24")]

    report = run(csv_file(row("GE-C-001", wave="M24", housing_situation="own"), items=["housing_situation"]))
    assert report.errors == [] and report.created == 1
    made = follow_up("GE-C-001", "m24")
    assert (made.source, made.disposition, made.due_date, made.window_closes) == (
        "imported", "1.1", date(2028, 8, 31), date(2028, 10, 30))
    assert response("GE-C-001", "m24").answers == {"housing_situation": "own"}


# -- the once-only modules ----------------------------------------------------------------------

def test_once_only_modules_on_a_second_response_are_refused(returnees):
    assert run(csv_file(row("GE-C-001", heard_from="website", housing_situation="own"),
                        items=["heard_from", "housing_situation"])).created == 1
    assert response("GE-C-001", "m1").first_follow_up

    # A later file: m1 is stored and asked them, so m6 may not.
    report = run(csv_file(row("GE-C-001", wave="m6", date="2026-11-02", heard_from="website",
                              decision_factors="no_work", housing_situation="own"),
                          items=["heard_from", "decision_factors", "housing_situation"]))
    assert errors(report) == [(2, "GE-C-001", f"column heard_from: the heard {ONCE_ONLY}"),
                              (2, "GE-C-001", f"column decision_factors: the decision {ONCE_ONLY}")]
    assert response("GE-C-001", "m6") is None and committed_count("follow_ups") == 1

    # Without them, the second response is stored, and does not ask them.
    report = run(csv_file(row("GE-C-001", wave="m6", date="2026-11-02", housing_situation="own"),
                          items=["heard_from", "housing_situation"]))
    assert report.errors == [] and report.created == 1
    assert not response("GE-C-001", "m6").first_follow_up
    # Re-importing the first changes nothing: it is still the first.
    again = run(csv_file(row("GE-C-001", heard_from="website", housing_situation="own"),
                         items=["heard_from", "housing_situation"]))
    assert again.errors == [] and again.unchanged == 1


def test_once_only_modules_in_one_file_go_with_the_case_s_earliest_row(returnees):
    # Rows out of date order: the m1 row, dated first, is GE-C-001's first response.
    report = run(csv_file(row("GE-C-001", wave="m6", date="2026-11-02", heard_from="website"),
                          row("GE-C-001", wave="m1", date="2026-10-05", heard_from="media"),
                          row("GE-C-002", wave="m6", date="2026-11-02", heard_from="website"),
                          items=["heard_from"]))
    assert errors(report) == [(2, "GE-C-001", f"column heard_from: the heard {ONCE_ONLY}")]

    report = run(csv_file(row("GE-C-001", wave="m6", date="2026-11-02", housing_situation="own"),
                          row("GE-C-001", wave="m1", date="2026-10-05", heard_from="website"),
                          row("GE-C-002", wave="m6", date="2026-11-02", heard_from="website"),
                          items=["heard_from", "housing_situation"]))
    assert report.errors == [] and report.created == 3
    assert response("GE-C-001", "m1").first_follow_up and not response("GE-C-001", "m6").first_follow_up
    assert response("GE-C-002", "m6").first_follow_up  # its first response, at m6


def test_once_only_modules_after_a_platform_response_are_refused(returnees):
    planned = make_follow_up(returnees["caritas-ge"], "m1")
    platform = operations.start_response(planned, "phone")
    assert platform.first_follow_up
    operations.save_answers(platform, registry.current().items, {"housing_situation": "rented"})
    followups.complete_response(platform, actor="test")
    db.session.commit()

    report = run(csv_file(row("GE-C-001", wave="m6", date="2026-11-02", decision_factors="no_work"),
                          items=["decision_factors"]))
    assert errors(report) == [(2, "GE-C-001", f"column decision_factors: the decision {ONCE_ONLY}")]


def test_a_break_off_without_the_once_only_modules_leaves_them_to_a_later_response(returnees):
    assert run(csv_file(row("GE-C-001", disposition="2.12", housing_situation="own"),
                        items=["housing_situation"])).created == 1
    report = run(csv_file(row("GE-C-001", wave="m6", date="2026-11-02", heard_from="website"), items=["heard_from"]))
    assert report.errors == [] and report.created == 1
    assert response("GE-C-001", "m6").first_follow_up


def test_a_row_without_a_response_is_not_the_first_response(returnees):
    data = csv_file(row("GE-C-001", disposition="2.20"),
                    row("GE-C-001", wave="m6", date="2026-11-02", heard_from="website", housing_situation="own"),
                    items=["heard_from", "housing_situation"])
    # In two files, m6 is GE-C-001's first response (m1 stored none) and asks the once-only modules.
    assert run(csv_file(row("GE-C-001", disposition="2.20"))).errors == []
    split = run(csv_file(row("GE-C-001", wave="m6", date="2026-11-02", heard_from="website", housing_situation="own"),
                         items=["heard_from", "housing_situation"]))
    assert split.errors == [] and response("GE-C-001", "m6").first_follow_up
    # The same two rows in one file say the same: unchanged (today: "the heard module is asked only ...").
    report = run(data)
    assert report.errors == [] and report.unchanged == 2


def test_the_first_response_does_not_depend_on_how_rows_are_split_into_files(returnees):
    both = csv_file(row("GE-C-001", disposition="2.20"),
                    row("GE-C-001", wave="m6", date="2026-11-02", housing_situation="own"), items=["housing_situation"])
    assert run(both).created == 2
    alone = run(csv_file(row("GE-C-001", wave="m6", date="2026-11-02", housing_situation="own"),
                         items=["housing_situation"]))
    assert (alone.updated, alone.unchanged) == (0, 1)  # today: updated, first_follow_up False -> True
    assert response("GE-C-001", "m6").first_follow_up


def test_once_only_answers_stored_on_a_break_off_count_as_asked(returnees):
    first = run(csv_file(row("GE-C-001", disposition="2.12", heard_from="website"), items=["heard_from"]))
    assert first.errors == [] and response("GE-C-001", "m1").answers == {"heard_from": ["website"]}
    report = run(csv_file(row("GE-C-001", wave="m6", date="2026-11-02", heard_from="media"), items=["heard_from"]))
    assert errors(report) == [(2, "GE-C-001", f"column heard_from: the heard {ONCE_ONLY}")]


# -- responses of the platform ------------------------------------------------------------------

def test_a_response_completed_in_the_platform_is_never_overwritten(returnees):
    planned = make_follow_up(returnees["caritas-ge"], "m1")
    platform = operations.start_response(planned, "phone")
    operations.save_answers(platform, registry.current().items, {"housing_situation": "rented"})
    followups.complete_response(platform, actor="test")
    db.session.commit()
    assert (planned.state, planned.disposition) == ("closed", "1.1")
    closed_at = planned.closed_at

    for disposition, cells in (("1.1", {"housing_situation": "own"}), ("2.11", {}), ("2.12", {"feels_safe": "safe"})):
        report = run(csv_file(row("GE-C-001", disposition=disposition, **cells),
                              row("GE-C-002", housing_situation="own"),
                              items=["housing_situation", "feels_safe"]), skip_invalid=True)
        assert errors(report) == [
            (2, "GE-C-001", "the m1 response was completed in the platform (phone); an import never overwrites it")]
        assert report.written
        stored = response("GE-C-001", "m1")
        assert (stored.id, stored.mode, stored.imported, stored.answers) == (
            platform.id, "phone", False, {"housing_situation": "rented"})
        made = follow_up("GE-C-001", "m1")
        assert (made.id, made.disposition, made.closed_at) == (planned.id, "1.1", closed_at)
    assert response("GE-C-002", "m1").answers == {"housing_situation": "own"}


def test_a_response_started_in_the_platform_and_not_completed_is_replaced_with_a_warning(returnees):
    planned = make_follow_up(returnees["caritas-ge"], "m1")
    started = operations.start_response(planned, "sms-web")
    operations.save_answers(started, registry.current().items, {"housing_situation": "rented", "debts": "yes"})
    db.session.commit()

    report = run(csv_file(row("GE-C-001", mode="visit", housing_situation="own"), items=["housing_situation"]))
    assert report.errors == [] and (report.created, report.updated) == (0, 1)
    assert [(w.line, w.message) for w in report.warnings] == [
        (2, "the m1 response started in the platform (sms-web) and not completed is replaced by this one")]
    stored = response("GE-C-001", "m1")
    assert (stored.id, stored.mode, stored.disposition, stored.imported) == (started.id, "visit", "1.1", True)
    assert stored.follow_up_id == planned.id
    assert stored.answers == {"housing_situation": "own"}
    assert committed_count() == 1 and committed_count("response_answers") == 1
    assert committed_count("follow_ups") == 1


def test_a_refusal_row_removes_a_response_started_in_the_platform(returnees):
    planned = make_follow_up(returnees["caritas-ge"], "m1")
    started = operations.start_response(planned, "sms-web")
    operations.save_answers(started, registry.current().items, {"housing_situation": "rented"})
    db.session.commit()

    report = run(csv_file(row("GE-C-001", disposition="2.11")))
    assert report.errors == [] and report.updated == 1
    assert [(w.line, w.message) for w in report.warnings] == [
        (2, "the m1 response started in the platform (sms-web) and not completed is replaced by this one")]
    assert response("GE-C-001", "m1") is None and counts() == (0, 0, 0)
    made = follow_up("GE-C-001", "m1")
    assert (made.id, made.state, made.disposition, made.closed_at) == (planned.id, "closed", "2.11", noon("2026-10-05"))


def test_excel_file_with_bom_semicolons_and_crlf(returnees):
    data = csv_file(row("GE-C-001", heard_from="family_friends;website", decision_factors="no_work;other",
                        decision_other="debts at home", household_size="3"),
                    items=["heard_from", "decision_factors", "decision_other", "household_size"],
                    delimiter=";", eol="\r\n", bom=True)
    assert data.startswith(b"\xef\xbb\xbfcode;wave;mode;date;disposition;heard_from")
    assert b';"family_friends;website";"no_work;other";' in data
    report = run(data)
    assert report.errors == [] and report.created == 1
    assert response("GE-C-001", "m1").answers == {
        "heard_from": ["family_friends", "website"], "decision_factors": ["no_work", "other"],
        "decision_other": "debts at home", "household_size": 3}


def test_the_audit_entry_of_a_written_import(returnees):
    data = csv_file(row("GE-C-001", housing_situation="own"), row("GE-C-002", housing_situation="castle"),
                    items=["housing_situation"])
    run(data)
    run(data, dry_run=True, skip_invalid=True)
    assert import_audits() == []

    run(data, skip_invalid=True)
    [entry] = import_audits()
    assert (entry.actor, entry.user_id, entry.object_type, entry.object_id) == ("test", None, None, None)
    assert entry.details == {"file": "responses.csv", "sha256": hashlib.sha256(data).hexdigest(),
                             "questionnaire": "standard-v2", "rows": 2, "created": 1, "updated": 0,
                             "unchanged": 0, "rejected": 1}
    # Scores and flags were written without a per-response audit entry.
    assert db.session.scalar(select(sa.func.count()).select_from(AuditEntry)) == 1


# -- the command line ---------------------------------------------------------------------------

def test_cli_imports_a_valid_file(app, returnees, tmp_path):
    result = cli(app, tmp_path, csv_file(row("GE-C-001", **FULL_CELLS), items=FULL_ITEMS))
    assert result.exit_code == 0, result.output
    assert result.stdout == "1 rows read: 1 created, 0 updated, 0 unchanged, 0 rejected\n"
    assert result.stderr == ""
    assert response("GE-C-001", "m1").flags == FULL_FLAGS
    [entry] = import_audits()
    assert entry.actor == "cli" and entry.details["file"].endswith("responses.csv")


def test_cli_reports_each_invalid_row_and_writes_nothing(app, returnees, tmp_path):
    result = cli(app, tmp_path, mixed_file())
    assert result.exit_code == 1
    assert result.stderr.splitlines() == MIXED_ERRORS
    assert result.stdout == ("nothing written: 2 of 3 rows are invalid "
                             "(fix them, or use --skip-invalid to write the valid rows)\n")
    assert committed_count() == 0 and import_audits() == []


def test_cli_skip_invalid_writes_the_valid_rows_and_still_fails(app, returnees, tmp_path):
    result = cli(app, tmp_path, mixed_file(), "--skip-invalid")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == MIXED_ERRORS
    assert result.stdout == "3 rows read: 1 created, 0 updated, 0 unchanged, 2 rejected\n"
    assert committed_count() == 1 and committed_count("response_answers") == 1
    [entry] = import_audits()
    assert (entry.actor, entry.details["created"], entry.details["rejected"]) == ("cli", 1, 2)


def test_cli_dry_run(app, returnees, tmp_path):
    result = cli(app, tmp_path, mixed_file(), "--dry-run", "--skip-invalid")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == MIXED_ERRORS
    assert result.stdout == "dry run: 3 rows read, 1 valid, 2 rejected; nothing written\n"
    assert committed_count() == 0 and import_audits() == []


def test_cli_version_and_file_errors(app, returnees, tmp_path):
    data = csv_file(row("GE-C-001", housing_situation="own"), items=["housing_situation"])
    result = cli(app, tmp_path, data, "--version", "3")
    assert result.exit_code == 1
    assert result.stderr == "error: file: questionnaire standard has no version 3 (published: 1, 2)\n"
    assert result.stdout == "nothing written: the file cannot be imported\n"

    result = cli(app, tmp_path, data, "--version", "1")
    assert result.exit_code == 0, result.output
    assert response("GE-C-001", "m1").questionnaire_version == 1


def test_cli_reimport_reports_unchanged_rows(app, returnees, tmp_path):
    data = csv_file(row("GE-C-001", housing_situation="own"), row("GE-C-002", disposition="refusal"),
                    items=["housing_situation"])
    assert cli(app, tmp_path, data).exit_code == 0
    result = cli(app, tmp_path, data)
    assert result.exit_code == 0, result.output
    assert result.stdout == "2 rows read: 0 created, 0 updated, 2 unchanged, 0 rejected\n"
    # The refusal is the follow-up's disposition: no response of its own.
    assert committed_count() == 1 and committed_count("follow_ups") == 2 and len(import_audits()) == 2
    assert db.session.scalar(select(sa.func.count()).select_from(ResponseAnswer)) == 1
    assert follow_up("GE-C-002", "m1").disposition == "2.11"
