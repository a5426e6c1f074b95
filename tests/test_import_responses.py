"""The response CSV import (historical and paper data): the file contract, answers stored as
codes with scores and red flags, missing items, dispositions, line-numbered row errors, what is
written and when, re-imports, responses completed in the platform, the CLI and the audit entry.

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
from monitor.models import AuditEntry, Response, ResponseAnswer, Returnee
from monitor.responses import operations
from tests.conftest import make_returnee
from monitor.responses.cli import import_responses_command
from monitor.responses.importing import import_responses
from surveys import registry
from surveys.scoring import score

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

def row(code, wave="m1", mode="phone", date="2026-10-05", disposition="complete", **cells) -> dict:
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
        row("GE-I-001", wave="m6", mode="sms-web", date="2026-11-20", disposition="partial",
            housing_situation="family", work_status="looking", medication_needed="no"),
        items=FULL_ITEMS)
    report = run(data)

    assert report.errors == [] and report.warnings == [] and report.written
    assert (report.rows, report.created, report.updated, report.unchanged) == (2, 2, 0, 0)
    assert committed_count() == 2

    first = response("GE-C-001", "m1")
    assert first.answers == FULL_ANSWERS
    assert operations.stored_answers(first) == FULL_ANSWERS
    assert (first.mode, first.disposition, first.language) == ("phone", "complete", "ka")
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
    assert (second.mode, second.disposition, second.first_follow_up) == ("sms-web", "partial", False)
    assert second.completed_at == noon("2026-11-20")
    expected = score(registry.current(), answers)
    assert second.scores == {**expected.dimensions, "composite": expected.composite}
    assert (second.score_economic, second.score_social, second.score_psychosocial) == (None, None, None)  # too few
    assert second.flags == []


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

@pytest.mark.parametrize("disposition", ["refusal", "non-contact", "other", "unknown-eligibility",
                                         "not-eligible", "cancelled"])
def test_dispositions_without_answers(returnees, disposition):
    report = run(csv_file(row("GE-C-001", wave="m6", disposition=disposition, date="2026-11-02"),
                          items=["housing_situation", "heard_from"]))
    assert report.errors == [] and report.created == 1
    stored = response("GE-C-001", "m6")
    assert (stored.disposition, stored.completed_at, stored.mode) == (disposition, noon("2026-11-02"), "phone")
    assert stored.answers == {} and stored.flags == []
    assert stored.scores == {"economic": None, "social": None, "psychosocial": None, "composite": None}
    assert counts() == (1, 0, 0)


@pytest.mark.parametrize("disposition", ["complete", "partial"])
def test_completed_dispositions_get_answers_and_scores(returnees, disposition):
    report = run(csv_file(row("GE-C-001", disposition=disposition, feels_safe="not_safe"), items=["feels_safe"]))
    assert report.errors == [] and report.created == 1
    stored = response("GE-C-001", "m1")
    assert (stored.disposition, stored.answers) == (disposition, {"feels_safe": "not_safe"})
    assert stored.scores == {"economic": None, "social": None, "psychosocial": None, "composite": None}
    assert stored.flags == ["feels_unsafe"]


def test_disposition_spellings(returnees):
    report = run(csv_file(row("GE-C-001", disposition="Non contact", mode="SMS_web", wave=" M1 ")))
    assert report.errors == []
    stored = response("GE-C-001", "m1")
    assert (stored.disposition, stored.mode, stored.wave) == ("non-contact", "sms-web", "m1")


def test_answers_on_a_non_completed_disposition_and_a_completed_one_without_answers(returnees):
    report = run(csv_file(
        row("GE-C-001", disposition="refusal", housing_situation="own", heard_from="website"),
        row("GE-C-002", disposition="complete"),
        row("AM-C-001", disposition="partial", housing_situation=" "),
        items=["housing_situation", "heard_from"]))
    assert errors(report) == [
        (2, "GE-C-001", "column disposition: a refusal response has no answers: leave housing_situation, heard_from empty"),
        (3, "GE-C-002", "column disposition: a complete response needs at least one answer"),
        (4, "AM-C-001", "column disposition: a partial response needs at least one answer"),
    ]
    assert committed_count() == 0


# -- bad rows -----------------------------------------------------------------------------------

HOUSING = "own, rented, family, friends, shelter, no_fixed_place, other"
DISPOSITIONS = "complete, partial, refusal, non-contact, other, unknown-eligibility, not-eligible, cancelled"


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
        row("GE-C-002", wave="m6", date="2026-02-30", housing_situation="own"),         # 7
        row("GE-C-002", wave="m12", date="2026-12-01", housing_situation="own"),        # 8
        row("AM-C-001", wave="m6", date="2026-08-31", housing_situation="own"),         # 9
        row("AM-C-001", wave="m12", disposition="done", housing_situation="own"),       # 10
        row("GE-I-001", wave="m6", housing_situation="castle"),                         # 11
        row("GE-I-001", wave="m12", decision_factors="no_work;no_work"),                # 12 (m12: see line 16)
        row("GE-C-001", wave="m6", housing_situation="own",                             # 13
            heard_from="website;tv;radio"),
        row("GE-C-002", wave="m1", decision_factors="no_work;homesickness;other;no_legal_stay"),  # 14
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
        (7, "GE-C-002", "column date: 2026-02-30 does not exist"),
        (8, "GE-C-002", "column date: 2026-12-01 is in the future"),
        (9, "AM-C-001", "column date: 2026-08-31 is before the return date 2026-09-01"),
        (10, "AM-C-001", f"column disposition: 'done' is not a disposition: use {DISPOSITIONS}"),
        (11, "GE-I-001", f"column housing_situation: unknown answer code 'castle': use {HOUSING}"),
        (12, "GE-I-001", "column decision_factors: the decision module is asked only at the first follow-up (m1), "
                         "not at m12"),
        (13, "GE-C-001", "column heard_from: the heard module is asked only at the first follow-up (m1), not at m6"),
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


def test_by_default_an_invalid_row_stops_the_whole_import(returnees):
    report = run(mixed_file())
    assert (report.rows, report.rejected, report.written) == (3, 2, False)
    assert counts() == (0, 0, 0) and import_audits() == []


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
    assert before == (2, 22, 4)  # 17 answers, of which two lists of 3 codes and one of 2: 22 rows
    ids = (response("GE-C-001", "m1").id, response("GE-C-002", "m6").id)

    again = run(first)
    assert (again.created, again.updated, again.unchanged, again.written) == (0, 0, 2, True)
    assert counts() == before

    changed = dict(FULL_CELLS, feels_safe="safe", medication_available="", heard_from="website")
    report = run(csv_file(row("GE-C-001", date="2026-10-07", **changed),
                          row("GE-C-002", wave="m6", disposition="complete", housing_situation="shelter",
                              date="2026-11-03"),
                          items=items))
    assert (report.created, report.updated, report.unchanged) == (0, 2, 0)
    assert counts() == (2, 22 - 1 - 2 + 1, 3)  # no medication_available, heard_from 1 code, GE-C-002 1 answer
    first_response, second_response = response("GE-C-001", "m1"), response("GE-C-002", "m6")
    assert (first_response.id, second_response.id) == ids
    expected = {k: v for k, v in FULL_ANSWERS.items() if k != "medication_available"}
    expected.update(feels_safe="safe", heard_from=["website"])
    assert first_response.answers == expected
    assert first_response.completed_at == noon("2026-10-07") and first_response.started_at == noon("2026-10-07")
    assert first_response.flags == ["distress_wants_support", "food_cut_often"]
    scores = score(registry.current(), expected)
    assert first_response.scores == {**scores.dimensions, "composite": scores.composite}
    assert (second_response.disposition, second_response.answers) == ("complete", {"housing_situation": "shelter"})
    assert second_response.flags == ["no_shelter"] and second_response.score_social is None  # 2 of 7 weight

    # Back to a refusal: answers, scores and flags are cleared.
    report = run(csv_file(row("GE-C-002", wave="m6", disposition="refusal", date="2026-11-03")))
    assert report.updated == 1
    second_response = response("GE-C-002", "m6")
    assert (second_response.disposition, second_response.answers, second_response.flags) == ("refusal", {}, [])
    assert second_response.score_composite is None and second_response.score_social is None
    assert counts() == (2, 19, 2)
    assert len(import_audits()) == 4


def test_a_response_completed_in_the_platform_is_never_overwritten(returnees):
    platform = operations.start_response(returnees["caritas-ge"], "m1", "phone")
    operations.save_answers(platform, registry.current().items, {"housing_situation": "rented"})
    operations.complete_response(platform, actor="test")
    db.session.commit()

    report = run(csv_file(row("GE-C-001", housing_situation="own"), row("GE-C-002", housing_situation="own"),
                          items=["housing_situation"]), skip_invalid=True)
    assert errors(report) == [
        (2, "GE-C-001", "the m1 response was completed in the platform (phone); an import never overwrites it")]
    assert (report.created, report.written) == (1, True)
    stored = response("GE-C-001", "m1")
    assert (stored.id, stored.mode, stored.answers) == (platform.id, "phone", {"housing_situation": "rented"})


def test_a_response_started_in_the_platform_and_not_completed_is_replaced_with_a_warning(returnees):
    started = operations.start_response(returnees["caritas-ge"], "m1", "sms-web")
    operations.save_answers(started, registry.current().items, {"housing_situation": "rented", "debts": "yes"})
    db.session.commit()

    report = run(csv_file(row("GE-C-001", mode="visit", housing_situation="own"), items=["housing_situation"]))
    assert report.errors == [] and (report.created, report.updated) == (0, 1)
    assert [(w.line, w.message) for w in report.warnings] == [
        (2, "the m1 response started in the platform (sms-web) and not completed is replaced by this one")]
    stored = response("GE-C-001", "m1")
    assert (stored.id, stored.mode, stored.disposition) == (started.id, "visit", "complete")
    assert stored.answers == {"housing_situation": "own"}
    assert committed_count() == 1 and committed_count("response_answers") == 1


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
    assert committed_count() == 2 and len(import_audits()) == 2
    assert db.session.scalar(select(sa.func.count()).select_from(ResponseAnswer)) == 1
