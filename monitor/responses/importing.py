"""Importing historical and paper responses from CSV (`monitor import-responses FILE.csv`).

The contract: the columns `code,wave,mode,date,disposition`, then one column per questionnaire
item, named by its item code (any subset of the items, in any order):

- `code`: the case code of an existing returnee; `wave`: m1, m6 or m12; `mode`: sms-web,
  phone, visit or import (how the answers were collected); `date`: the day the response was
  completed or its final disposition reached, YYYY-MM-DD (stored as noon UTC, so that the day
  stays the same in every destination's time zone), neither in the future nor before the
  return date; `disposition`: complete, partial, refusal, non-contact, other,
  unknown-eligibility, not-eligible or cancelled.
- Item cells hold answer codes as the items' `normalise` reads them: a code, a `;` list for a
  multiple choice (the first-marked one first), `code1;code2;code3` for a ranking (rank 1
  first, one to three distinct codes), a whole number, a date YYYY-MM-DD or a short text.
  An empty cell, or an item without a column, is no answer: stored as missing, never invented.
  Answers are checked against the current questionnaire version, or the one asked for.
- complete and partial rows need at least one answer and get scores and red flags (through
  `monitor.responses.operations`); the other dispositions are stored without answers: an answer
  on such a row is an error. Required items may be missing (historical data often lacks them).
  The first-follow-up-only modules (how they heard, decision factors) are accepted on m1 only.
- An answer that the questionnaire's skip logic would not ask, given the row's other answers,
  is stored as given (it is what was recorded) with a warning; scoring ignores it, as always.

Re-importing is idempotent: the response of a (returnee, wave) is updated in place, replaced by
what the row says (answers missing from the row are cleared), and reported unchanged when
the row says what is stored. A response that the platform completed (the returnee's link, an
interviewer's form: `Response.imported` is false)
is never overwritten: its row is an error. A response started in the platform but not completed
is replaced by the imported one, with a warning.

Nothing is written on a dry run, or when a row is invalid without `skip_invalid`; a written import
leaves one `response.import` audit entry. Messages are plain English: this is an administrator's
command-line tool (the file-level messages shared with the returnee import are translated).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from flask_babel import gettext as _
from sqlalchemy import select

from monitor import codes
from monitor.csvimport import (
    ImportReport, RowError, batches, column_problems, lookup, open_table, run_import, table_rows,
)
from monitor.extensions import db
from monitor.models import Response, Returnee, User
from monitor.models.responses import DISPOSITIONS, MODES
from monitor.responses import operations
from monitor.returnees.parsing import InvalidValue, parse_case_code
from scheduler.operations import close_for_response
from surveys import registry
from surveys.definition import Questionnaire
from surveys.items import AnswerError, Item

FIXED_COLUMNS = ("code", "wave", "mode", "date", "disposition")
COMPLETED = operations.SCORED_DISPOSITIONS  # the dispositions that carry answers, scores and flags
FIRST_WAVE = "m1"
COMPLETED_AT = time(12, 0, tzinfo=timezone.utc)


@dataclass
class _Row:
    line: int
    code: str
    returnee: Returnee
    wave: str
    mode: str
    completed_at: datetime
    disposition: str
    answers: dict  # item code -> answer as the item normalised it; only the answered items
    response: Response | None  # the stored response this row updates


def import_responses(data: bytes, *, version: int | None = None, dry_run: bool = False,
                     skip_invalid: bool = False, user: User | None = None, actor: str | None = None,
                     filename: str = "", today: date | None = None) -> ImportReport:
    """Validate every row, then write the valid ones unless that is not wanted.

    Nothing is written when `dry_run`, or when any row is invalid and not `skip_invalid`.
    """
    today = today or date.today()
    try:
        questionnaire = _questionnaire(version)
    except InvalidValue as problem:
        return ImportReport(errors=[RowError(0, str(problem))])
    return run_import(data, lambda data, report: _read_rows(data, questionnaire, report, today),
                      lambda rows, report: _write(rows, questionnaire, report), action="response.import",
                      dry_run=dry_run, skip_invalid=skip_invalid, user=user, actor=actor, filename=filename,
                      details={"questionnaire": questionnaire.key})


def _questionnaire(version: int | None) -> Questionnaire:
    current = registry.current()
    if version is None:
        return current
    try:
        return registry.get(current.code, version)
    except KeyError:
        published = sorted(v for (code, v) in registry.all_versions() if code == current.code)
        raise InvalidValue(f"questionnaire {current.code} has no version {version} "
                           f"(published: {', '.join(map(str, published))})") from None


def _read_rows(data: bytes, questionnaire: Questionnaire, report: ImportReport, today: date) -> list[_Row]:
    header, reader = open_table(data)
    item_codes = [item.code for item in questionnaire.items]
    problems = column_problems(header, FIXED_COLUMNS, FIXED_COLUMNS + tuple(item_codes))
    if any(column not in FIXED_COLUMNS and column not in item_codes for column in header):
        problems.append(f"an item column is named by an item code of questionnaire {questionnaire.key}")
    if problems:
        raise InvalidValue("; ".join(problems))
    item_columns = [column for column in header if column not in FIXED_COLUMNS]

    raw_rows = []
    seen: dict[tuple[str, str], int] = {}
    for line, raw in table_rows(reader, header, report):
        key = (raw["code"].strip(), raw["wave"].strip().lower())
        if all(key) and key in seen:
            report.errors.append(RowError(line, f"the {key[1]} response of this case is already on line {seen[key]}",
                                          key[0]))
            continue
        seen[key] = line
        raw_rows.append((line, raw))
    if report.rows == 0:
        raise InvalidValue(_("the file has a header but no rows"))

    returnees = lookup(Returnee.code, [raw["code"].strip() for _line, raw in raw_rows])
    stored = _stored_responses([r.id for r in returnees.values()])
    platform = _completed_in_platform(stored.values())
    valid = []
    for line, raw in raw_rows:
        row, problems, warnings = _validate(line, raw, item_columns, questionnaire, returnees, stored, platform, today)
        code = raw["code"].strip() or None
        if problems:
            report.errors.extend(RowError(line, p, code) for p in problems)
        else:
            report.warnings.extend(RowError(line, w, code) for w in warnings)
            valid.append(row)
    report.errors.sort(key=lambda e: e.line)
    return valid


def _stored_responses(returnee_ids: list[int]) -> dict[tuple[int, str], Response]:
    found = {}
    for chunk in batches(returnee_ids):
        for response in db.session.scalars(select(Response).where(Response.returnee_id.in_(chunk))):
            found[(response.returnee_id, response.wave)] = response
    return found


def _completed_in_platform(responses) -> set[int]:
    """The ids of the responses completed through the platform (not loaded by an import)."""
    return {r.id for r in responses if not r.imported and (r.completed_at is not None or r.disposition is not None)}


def _validate(line, raw, item_columns, questionnaire, returnees, stored, platform, today):
    """(the row, or None; its problems; its warnings)."""
    problems: list[str] = []
    warnings: list[str] = []

    returnee = None
    try:
        code = parse_case_code(raw["code"])
    except InvalidValue as problem:
        problems.append(f"column code: {problem}")
    else:
        returnee = returnees.get(code)
        if returnee is None:
            problems.append(f"column code: no returnee has the code {code!r}")
    wave = _one_of(raw["wave"], codes.WAVES, "wave", problems)
    mode = _one_of(raw["mode"], MODES, "mode", problems)
    disposition = _one_of(raw["disposition"], DISPOSITIONS, "disposition", problems)
    completed_at = _completion_date(raw["date"], returnee, today, problems)

    given = [column for column in item_columns if raw[column].strip()]
    answers: dict = {}
    if disposition is not None and disposition not in COMPLETED:
        if given:
            problems.append(f"column disposition: a {disposition} response has no answers: "
                            f"leave {', '.join(given)} empty")
    else:
        only_first = {m.code for m in questionnaire.modules if m.first_follow_up_only}
        for column in given:
            item = questionnaire.item(column)
            if wave is not None and wave != FIRST_WAVE and item.module in only_first:
                problems.append(f"column {column}: the {item.module} module is asked only at the first "
                                f"follow-up ({FIRST_WAVE}), not at {wave}")
                continue
            try:
                value = item.normalise(raw[column].strip())
            except AnswerError as problem:
                problems.append(_answer_problem(item, raw[column].strip(), problem))
                continue
            if value is not None:
                answers[column] = value
        if disposition in COMPLETED and not answers and not problems:
            problems.append(f"column disposition: a {disposition} response needs at least one answer")

    response = stored.get((returnee.id, wave)) if returnee is not None and wave is not None else None
    if response is not None and response.id in platform:
        problems.append(f"the {wave} response was completed in the platform ({response.mode}); "
                        "an import never overwrites it")
    if problems:
        return None, problems, warnings

    if response is not None and response.completed_at is None and response.disposition is None:
        warnings.append(f"the {wave} response started in the platform ({response.mode}) and not completed "
                        "is replaced by this one")
    visible = {item.code for item in questionnaire.visible_items(answers, wave == FIRST_WAVE)}
    skipped = [column for column in answers if column not in visible]
    if skipped:
        warnings.append(f"columns {', '.join(skipped)}: answered although the questionnaire skips them given "
                        "the other answers; stored, not scored")
    return _Row(line, code, returnee, wave, mode, completed_at, disposition, answers, response), [], warnings


def _one_of(cell: str, allowed, column: str, problems: list[str]) -> str | None:
    value = re.sub(r"[\s_]+", "-", cell.strip().lower())
    if value in allowed:
        return value
    problems.append(f"column {column}: {cell.strip()[:40]!r} is not a {column}: use {', '.join(allowed)}")
    return None


def _completion_date(cell: str, returnee: Returnee | None, today: date, problems: list[str]) -> datetime | None:
    value = cell.strip()
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        problems.append(f"column date: {value[:30]!r} is not written YYYY-MM-DD")
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        problems.append(f"column date: {value} does not exist")
        return None
    if day > today:
        problems.append(f"column date: {value} is in the future")
        return None
    if returnee is not None and day < returnee.return_date:
        problems.append(f"column date: {value} is before the return date {returnee.return_date.isoformat()}")
        return None
    return datetime.combine(day, COMPLETED_AT)


def _answer_problem(item: Item, cell: str, problem: AnswerError) -> str:
    if item.takes_options:
        given = [part.strip() for part in cell.split(";")] if item.type_name in ("multiple", "ranked") else [cell]
        unknown = [part for part in given if part and part not in item.option_codes()]
        if unknown:
            return (f"column {item.code}: unknown answer code {', '.join(repr(u[:40]) for u in unknown)}: "
                    f"use {', '.join(o.code for o in item.options)}")
    if item.type_name == "text":  # free text may be personal: not repeated
        return f"column {item.code}: {problem}"
    return f"column {item.code}: {cell[:60]!r}: {problem}"


def _write(rows: list[_Row], questionnaire: Questionnaire, report: ImportReport) -> None:
    for row in rows:
        response = row.response
        if response is None:
            response = Response(returnee=row.returnee, wave=row.wave, language=row.returnee.language)
            db.session.add(response)
            report.created += 1
        elif _state(response) == _wanted(row, questionnaire):
            report.unchanged += 1
            continue
        else:
            report.updated += 1
        _fill(response, row, questionnaire)


def _state(response: Response) -> tuple:
    return (response.questionnaire_code, response.questionnaire_version, response.mode, response.first_follow_up,
            response.disposition, response.completed_at, response.interviewer_id,
            operations.stored_answers(response))


def _wanted(row: _Row, questionnaire: Questionnaire) -> tuple:
    return (questionnaire.code, questionnaire.version, row.mode, row.wave == FIRST_WAVE,
            row.disposition, row.completed_at, None, row.answers)


def _fill(response: Response, row: _Row, questionnaire: Questionnaire) -> None:
    """Make the response say what the row says, replacing what it said before."""
    response.questionnaire_code = questionnaire.code
    response.questionnaire_version = questionnaire.version
    response.mode = row.mode
    response.first_follow_up = row.wave == FIRST_WAVE
    response.interviewer_id = None
    response.reached_module = None
    if response.started_at is None or response.completed_at is not None or response.started_at > row.completed_at:
        response.started_at = row.completed_at  # a platform start before the completion date is kept
    response.answer_rows = []
    operations.save_answers(response, questionnaire.items, row.answers)
    response.disposition = row.disposition
    response.completed_at = row.completed_at
    response.imported = True
    operations.apply_scores(response)
    close_for_response(response, actor="import")
