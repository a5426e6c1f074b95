"""Importing historical and paper responses from CSV (`monitor import-responses FILE.csv`).

The contract: the columns `code,wave,mode,date,disposition`, then one column per questionnaire
item, named by its item code (any subset of the items, in any order):

- `code`: the case code of an existing returnee; `wave`: a wave of the plan; `mode`: sms-web,
  phone, visit or import (how the answers were collected); `date`: the day the response was
  completed or its final disposition reached, YYYY-MM-DD (stored as noon UTC, so that the day
  stays the same in every destination's time zone), neither in the future nor before the
  return date; `disposition`: an AAPOR code of scheduler/dispositions.py (1.1, 1.2, 2.11, ...)
  or one of the old names (complete, partial, refusal, cancelled, non-contact, other,
  unknown-eligibility, not-eligible), mapped by `dispositions.LEGACY_NAMES`.
- Each row belongs to the case's follow-up for that wave; one is created when none exists
  (`source = imported`, no draw: counted in caseload and response tables, left out of weighted
  estimates).
- Item cells hold answer codes as the items' `normalise` reads them: a code, a `;` list for a
  multiple choice (the first-marked one first), `code1;code2;code3` for a ranking (rank 1
  first, one to three distinct codes), a whole number, a date YYYY-MM-DD or a short text.
  An empty cell, or an item without a column, is no answer: stored as missing, never invented.
  Answers are checked against the current questionnaire version, or the one asked for.
- 1.1 and 1.2 rows need at least one answer and get scores and red flags, 2.12 (break-off) rows
  may carry answers (red flags, no scores); the other dispositions are stored without answers:
  an answer on such a row is an error. Required items may be missing (historical data often
  lacks them). The once-only modules (how they heard, decision factors) are accepted on the
  returnee's first response only (`asks_once_only_modules`; in a file, their earliest row).
- An answer that the questionnaire's skip logic would not ask, given the row's other answers,
  is stored as given (it is what was recorded) with a warning; scoring ignores it, as always.

Re-importing is idempotent: the response of a (returnee, wave) is updated in place, replaced by
what the row says (answers missing from the row are cleared), and reported unchanged when
the row says what is stored. A response that the platform completed (the returnee's link, an
interviewer's form: `Response.imported` is false)
is never overwritten: its row is an error. A response started in the platform but not completed
is replaced by the imported one, with a warning.

The work list form's submissions, as ODK Central and KoboToolbox export them, are recognised from
the header and read into rows of this contract (monitor/responses/submissions.py); each is
stored with its instance ID on the follow-up: imported again it is skipped, and a second,
different submission for a follow-up is an error.

Nothing is written on a dry run, or when a row is invalid without `skip_invalid`; a written import
leaves one `response.import` audit entry. Messages are plain English: this is an administrator's
command-line tool (the file-level messages shared with the returnee import are translated).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from flask_babel import gettext as _
from sqlalchemy import func, select

from monitor.csvimport import (
    ImportReport, RowError, batches, column_problems, lookup, open_table, run_import, table_rows,
)
from monitor.extensions import db
from monitor.followups.operations import close, mark_contacted, recode
from monitor.followups.waves import all_waves
from monitor.models import FollowUp, Response, Returnee, SampleDraw, SampleStratum, User, Wave
from monitor.models.responses import MODES
from monitor.responses import operations, submissions
from monitor.returnees.parsing import InvalidValue, parse_case_code
from scheduler.dispositions import UnknownReason, carries_answers, recorded
from scheduler.planning import window
from surveys import registry
from surveys.definition import Questionnaire
from surveys.items import AnswerError, Item

FIXED_COLUMNS = ("code", "wave", "mode", "date", "disposition")
# Optional: N_h, the size of the stratum (wave x month of return x destination country x
# partner) the imported cases were sampled from; with it they are weighted, without it not.
STRATUM_COLUMN = "stratum_size"
COMPLETED_AT = time(12, 0, tzinfo=timezone.utc)


@dataclass
class _Row:
    line: int
    code: str
    returnee: Returnee
    wave: str
    mode: str
    completed_at: datetime
    disposition: str  # an AAPOR code
    answers: dict  # item code -> answer as the item normalised it; only the answered items
    follow_up: FollowUp | None  # the stored follow-up this row belongs to
    response: Response | None  # the stored response this row updates
    first: bool  # the returnee's first response: asks the once-only modules
    stratum_size: int | None = None  # N_h of the stratum the case was sampled from, if given
    instance_id: str | None = None  # an offline submission's (monitor/responses/submissions.py)
    language: str | None = None  # the interview's language, when the submission says it


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
    details = {"questionnaire": questionnaire.key}  # the export format is added once recognised
    return run_import(data, lambda data, report: _read_rows(data, questionnaire, report, today, details),
                      lambda rows, report: _write(rows, questionnaire, report), action="response.import",
                      dry_run=dry_run, skip_invalid=skip_invalid, user=user, actor=actor, filename=filename,
                      details=details)


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


def _read_rows(data: bytes, questionnaire: Questionnaire, report: ImportReport, today: date,
               details: dict | None = None) -> list[_Row]:
    header, reader = open_table(submissions.unzipped(data))
    source = submissions.recognise(header)
    if source is not None:
        if details is not None:
            details["format"] = source.name
        return _read_submissions(source, header, reader, questionnaire, report, today)
    item_codes = [item.code for item in questionnaire.items]
    problems = column_problems(header, FIXED_COLUMNS, FIXED_COLUMNS + (STRATUM_COLUMN,) + tuple(item_codes))
    if any(column not in FIXED_COLUMNS + (STRATUM_COLUMN,) and column not in item_codes for column in header):
        problems.append(f"an item column is named by an item code of questionnaire {questionnaire.key}")
    if problems:
        raise InvalidValue("; ".join(problems))
    item_columns = [column for column in header if column not in FIXED_COLUMNS + (STRATUM_COLUMN,)]

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
    valid = _validate_rows(raw_rows, item_columns, questionnaire, report, today)
    valid = _check_strata(valid, report)
    report.errors.sort(key=lambda e: e.line)
    return valid


def _validate_rows(raw_rows, item_columns, questionnaire: Questionnaire, report: ImportReport,
                   today: date) -> list[_Row]:
    returnees = lookup(Returnee.code, [raw["code"].strip() for _line, raw in raw_rows])
    ids = [r.id for r in returnees.values()]
    context = _Context(questionnaire=questionnaire, returnees=returnees, responses=_stored(Response, ids),
                       follow_ups=_stored(FollowUp, ids), waves={w.code: w for w in all_waves()}, today=today,
                       first_lines=_first_lines(raw_rows, returnees))
    valid = []
    for line, raw in raw_rows:
        row, problems, warnings = _validate(line, raw, item_columns, context)
        code = raw["code"].strip() or None
        if problems:
            report.errors.extend(RowError(line, p, code) for p in problems)
        else:
            report.warnings.extend(RowError(line, w, code) for w in warnings)
            valid.append(row)
    return valid


def _read_submissions(source, header: list[str], reader, questionnaire: Questionnaire, report: ImportReport,
                      today: date) -> list[_Row]:
    """The rows of an ODK Central or KoboToolbox export (monitor/responses/submissions.py): each
    submission once. One imported before, or repeated in the file (KoboToolbox keeps duplicates),
    is skipped; a second, different submission for the same follow-up is an error."""
    columns = submissions.Columns(source, header, questionnaire)
    missing = [name for name in ("case", "consent") if name not in columns.field_at]
    if missing:
        raise InvalidValue(f"a {source.name} export, but not of the work list form: no column for "
                           f"{', '.join(missing)}")
    if columns.unknown:
        report.warnings.append(RowError(0, f"columns not in the work list form of questionnaire {questionnaire.key}, "
                                           f"ignored: {', '.join(columns.unknown[:20])}"))
    read = [submissions.read(columns, line, cells, questionnaire) for line, cells in table_rows(reader, header, report)]
    if report.rows == 0:
        raise InvalidValue(_("the file has a header but no rows"))
    stored = set()
    for chunk in batches([s.instance_id for s in read if s.instance_id]):
        stored.update(db.session.scalars(select(FollowUp.source_instance_id)
                                         .where(FollowUp.source_instance_id.in_(chunk))))
    by_id: dict[str, int] = {}
    by_follow_up: dict[tuple[str, str], int] = {}
    taken: dict[int, submissions.Submission] = {}
    for submission in read:
        line, code = submission.line, submission.raw["code"] or None
        if submission.problems:
            report.errors.extend(RowError(line, p, code) for p in submission.problems)
            continue
        reason = (submission.skip
                  or ("imported before" if submission.instance_id in stored else None)
                  or (f"the same submission as line {by_id[submission.instance_id]}"
                      if submission.instance_id in by_id else None))
        if reason:
            report.skipped += 1
            report.warnings.append(RowError(line, f"submission {submission.instance_id}: {reason}; skipped", code))
            continue
        by_id[submission.instance_id] = line
        follow_up_key = (submission.raw["code"], submission.raw["wave"])
        if follow_up_key in by_follow_up:
            report.errors.append(RowError(line, f"a second submission for the {follow_up_key[1]} follow-up of this "
                                                f"case (the first is on line {by_follow_up[follow_up_key]})", code))
            continue
        by_follow_up[follow_up_key] = line
        taken[line] = submission

    item_columns = [item.code for item in questionnaire.items]
    valid = []
    for row in _validate_rows([(s.line, s.raw) for s in taken.values()], item_columns, questionnaire, report, today):
        submission = taken[row.line]
        problem = None
        if row.follow_up is None:
            problem = f"the case has no {row.wave} follow-up: the key is not one of a work list export"
        elif row.follow_up.source_instance_id not in (None, submission.instance_id):
            problem = (f"the {row.wave} follow-up has a submission already ({row.follow_up.source_instance_id}, "
                       "imported before): a second one is refused")
        if problem:
            report.errors.append(RowError(row.line, problem, row.code))
            report.warnings = [w for w in report.warnings if w.line != row.line]
            continue
        row.completed_at = submission.completed_at
        row.instance_id, row.language = submission.instance_id, submission.language
        if row.disposition == "1.1" and questionnaire.missing_required(row.answers, row.first):
            # stopped before the end: partial once the partial threshold is reached, else a break-off
            row.disposition = "1.2" if questionnaire.partial_reached(row.answers, row.first) else "2.12"
        valid.append(row)
    report.errors.sort(key=lambda e: e.line)
    return valid


def _stratum_key(row) -> tuple:
    return (row.wave, row.returnee.return_date.strftime("%Y-%m"), row.returnee.destination_country,
            row.returnee.partner_id)


def _check_strata(rows: list, report: ImportReport) -> list:
    """The rows that give N_h, grouped by stratum: one N_h per stratum, at least the number of
    its rows, given for the whole stratum at once (a stratum is recorded once)."""
    groups: dict[tuple, list] = {}
    for row in rows:
        if row.stratum_size is not None:
            groups.setdefault(_stratum_key(row), []).append(row)
    refused: set[int] = set()
    for (wave, cohort, country, _partner), members in groups.items():
        sizes = {row.stratum_size for row in members}
        recorded_before = {(row.follow_up.stratum.frame_size, row.follow_up.stratum.sample_size)
                           for row in members if row.follow_up is not None and row.follow_up.stratum is not None}
        where = f"stratum {wave} {cohort} {country}"
        if len(sizes) > 1:
            problem = f"column {STRATUM_COLUMN}: the {where} is given sizes {', '.join(map(str, sorted(sizes)))}: give one"
        elif max(sizes) < len(members):
            problem = f"column {STRATUM_COLUMN}: the {where} has {len(members)} rows but a size of {max(sizes)}"
        elif recorded_before and recorded_before != {(max(sizes), len(members))}:
            problem = (f"column {STRATUM_COLUMN}: the {where} was imported before with other sizes; "
                       "an imported stratum is recorded once, with all its rows")
        else:
            continue
        for row in members:
            report.errors.append(RowError(row.line, problem, row.code))
            refused.add(row.line)
    return [row for row in rows if row.line not in refused]


@dataclass
class _Context:
    questionnaire: Questionnaire
    returnees: dict[str, Returnee]
    responses: dict[tuple[int, str], Response]
    follow_ups: dict[tuple[int, str], FollowUp]
    waves: dict[str, Wave]
    today: date
    first_lines: dict[str, int]  # case code -> the line of its earliest row: its first response


def _stored(model, returnee_ids: list[int]) -> dict:
    found = {}
    for chunk in batches(returnee_ids):
        for row in db.session.scalars(select(model).where(model.returnee_id.in_(chunk))):
            found[(row.returnee_id, row.wave)] = row
    return found


def _first_lines(raw_rows, returnees) -> dict[str, int]:
    """Per case, the line of its earliest row that carries answers (by date, then line): the
    response that asks the once-only modules, unless a stored response asked them already
    (checked per row). Rows without answers (a refusal, a non-contact) are no response."""
    earliest: dict[str, tuple[str, int]] = {}
    for line, raw in raw_rows:
        code = raw["code"].strip()
        try:
            answers = carries_answers(recorded(raw["disposition"]))
        except UnknownReason:
            answers = False
        key = (raw["date"].strip(), line)
        if answers and code in returnees and (code not in earliest or key < earliest[code]):
            earliest[code] = key
    return {code: line for code, (_day, line) in earliest.items()}


def _in_platform(response: Response | None, follow_up: FollowUp | None) -> bool:
    """Answered through the platform (the link, an interviewer), not loaded by an import."""
    return response is not None and not response.imported and (
        response.completed_at is not None or (follow_up is not None and follow_up.disposition is not None))


def _validate(line, raw, item_columns, context: _Context):
    """(the row, or None; its problems; its warnings)."""
    problems: list[str] = []
    warnings: list[str] = []
    questionnaire = context.questionnaire

    returnee = None
    try:
        code = parse_case_code(raw["code"])
    except InvalidValue as problem:
        problems.append(f"column code: {problem}")
    else:
        returnee = context.returnees.get(code)
        if returnee is None:
            problems.append(f"column code: no returnee has the code {code!r}")
    wave = _one_of(raw["wave"], list(context.waves), "wave", problems)
    mode = _one_of(raw["mode"], MODES, "mode", problems)
    try:
        disposition = recorded(raw["disposition"])
    except UnknownReason as problem:
        problems.append(f"column disposition: {problem}")
        disposition = None
    completed_at = _completion_date(raw["date"], returnee, context.today, problems)
    stratum_size = _stratum_size(raw.get(STRATUM_COLUMN, ""), problems)
    key = (returnee.id, wave) if returnee is not None and wave is not None else None
    response = context.responses.get(key) if key else None
    follow_up = context.follow_ups.get(key) if key else None
    first = (returnee is not None and context.first_lines.get(returnee.code) == line
             and operations.asks_once_only_modules(returnee, response))

    given = [column for column in item_columns if raw[column].strip()]
    answers: dict = {}
    if disposition is not None and not carries_answers(disposition):
        if given:
            problems.append(f"column disposition: a {disposition} response has no answers: "
                            f"leave {', '.join(given)} empty")
    else:
        only_once = {m.code for m in questionnaire.modules if m.first_follow_up_only}
        for column in given:
            item = questionnaire.item(column)
            if returnee is not None and not first and item.module in only_once:
                problems.append(f"column {column}: the {item.module} module is asked only at the returnee's "
                                "first response (the earliest row of the case, if no response of it is stored)")
                continue
            try:
                value = item.normalise(raw[column].strip())
            except AnswerError as problem:
                problems.append(_answer_problem(item, raw[column].strip(), problem))
                continue
            if value is not None:
                answers[column] = value
        if disposition in ("1.1", "1.2") and not answers and not problems:
            problems.append(f"column disposition: a {disposition} response needs at least one answer")

    if stratum_size is not None and follow_up is not None and follow_up.sample_draw_id is not None \
            and (follow_up.stratum is None or follow_up.stratum.draw.kind != "imported"):
        problems.append(f"column {STRATUM_COLUMN}: the {wave} follow-up was drawn by the platform; its stratum is stored")
    if _in_platform(response, follow_up):
        problems.append(f"the {wave} response was completed in the platform ({response.mode}); "
                        "an import never overwrites it")
    if problems:
        return None, problems, warnings

    if response is not None and not response.imported:
        warnings.append(f"the {wave} response started in the platform ({response.mode}) and not completed "
                        "is replaced by this one")
    elif follow_up is not None and follow_up.disposition not in (None, disposition) and _closed_in_platform(follow_up):
        warnings.append(f"the {wave} follow-up closed in the platform as {follow_up.disposition} "
                        f"is recorded as {disposition}")
    visible = {item.code for item in questionnaire.visible_items(answers, first)}
    skipped = [column for column in answers if column not in visible]
    if skipped:
        warnings.append(f"columns {', '.join(skipped)}: answered although the questionnaire skips them given "
                        "the other answers; stored, not scored")
    return _Row(line, code, returnee, wave, mode, completed_at, disposition, answers, follow_up, response,
                first, stratum_size), [], warnings


def _stratum_size(cell: str, problems: list[str]) -> int | None:
    value = cell.strip()
    if not value:
        return None
    if not re.fullmatch(r"[0-9]{1,9}", value) or int(value) < 1:
        problems.append(f"column {STRATUM_COLUMN}: {value[:20]!r} is not a whole number from 1")
        return None
    return int(value)


def _closed_in_platform(follow_up: FollowUp) -> bool:
    closing = [event for event in follow_up.events if event.to_state == "closed"]
    return bool(closing) and closing[-1].actor != "import"


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
    _write_rows(rows, questionnaire, report)
    _write_strata(rows)


def _write_strata(rows: list[_Row]) -> None:
    """Imported strata: a draw of kind `imported` per wave and month of return, a stratum per
    country and partner with N_h as given and n_h its rows; each follow-up gets its stratum and
    probability n_h / N_h (no seed, no frame: it cannot be redrawn, only weighted)."""
    groups: dict[tuple, list[_Row]] = {}
    for row in rows:
        if row.stratum_size is not None and (row.follow_up is None or row.follow_up.stratum is None):
            groups.setdefault(_stratum_key(row), []).append(row)
    draws: dict[tuple[str, str], SampleDraw] = {}
    for (wave, cohort, country, partner_id), members in sorted(groups.items()):
        draw = draws.get((wave, cohort))
        if draw is None:
            sequence = db.session.scalar(select(func.coalesce(func.max(SampleDraw.sequence) + 1, 0)).where(
                SampleDraw.wave == wave, SampleDraw.cohort == cohort))
            draw = draws[(wave, cohort)] = SampleDraw(
                wave=wave, cohort=cohort, kind="imported", sequence=sequence, seed=None, fraction=0.0,
                min_per_stratum=0, frame_stored=False, frame_size=0, sample_size=0)
            db.session.add(draw)
        big_n, n = members[0].stratum_size, len(members)
        stratum = SampleStratum(country=country, partner_id=partner_id, frame_size=big_n, sample_size=n,
                                probability=n / big_n)
        draw.strata.append(stratum)
        draw.frame_size += big_n
        draw.sample_size += n
        db.session.flush()
        for row in members:
            follow_up = db.session.scalar(select(FollowUp).where(FollowUp.returnee_id == row.returnee.id,
                                                                 FollowUp.wave == row.wave))
            follow_up.sample_draw_id, follow_up.stratum_id = draw.id, stratum.id
            follow_up.inclusion_probability = stratum.probability
    for draw in draws.values():
        draw.fraction = draw.sample_size / draw.frame_size


def _write_rows(rows: list[_Row], questionnaire: Questionnaire, report: ImportReport) -> None:
    waves = {w.code: w for w in all_waves()}
    for row in rows:
        follow_up = row.follow_up
        if follow_up is None:
            due, opens, closes = window(waves[row.wave], row.returnee.return_date)
            follow_up = FollowUp(returnee=row.returnee, wave=row.wave, due_date=due, window_opens=opens,
                                 window_closes=closes, source="imported", state="planned",
                                 channel="phone" if row.returnee.preferred_channel == "phone" else "sms",
                                 inclusion_probability=None, next_action_at=None, created_at=row.completed_at)
            db.session.add(follow_up)
            db.session.flush()
        response = row.response
        if _state(follow_up, response) == _wanted(row, questionnaire):
            report.unchanged += 1
            continue
        if row.follow_up is None and response is None:
            report.created += 1
        else:
            report.updated += 1
        if carries_answers(row.disposition):
            if response is None:
                response = Response(follow_up=follow_up, returnee=row.returnee, wave=row.wave,
                                    language=row.returnee.language)
                db.session.add(response)
            _fill(response, row, questionnaire)
        elif response is not None:
            db.session.delete(response)  # the row says nobody answered
            response = None
        if row.instance_id is not None:
            follow_up.source_instance_id = row.instance_id
            mark_contacted(follow_up, row.completed_at)  # consent was answered, either way
        # Either way the response (if any) is scored and flagged as the row's code says.
        if follow_up.state != "closed":
            close(follow_up, "imported", actor="import", at=row.completed_at, code=row.disposition)
        else:
            recode(follow_up, row.disposition, actor="import", at=row.completed_at)


def _state(follow_up: FollowUp, response: Response | None) -> tuple:
    if response is None:
        return (follow_up.disposition, follow_up.closed_at)
    return (follow_up.disposition, follow_up.closed_at, response.questionnaire_code, response.questionnaire_version,
            response.mode, response.first_follow_up, response.completed_at, response.interviewer_id,
            operations.stored_answers(response))


def _wanted(row: _Row, questionnaire: Questionnaire) -> tuple:
    if not carries_answers(row.disposition):
        return (row.disposition, row.completed_at)
    return (row.disposition, row.completed_at, questionnaire.code, questionnaire.version, row.mode, row.first,
            row.completed_at, None, row.answers)


def _fill(response: Response, row: _Row, questionnaire: Questionnaire) -> None:
    """Make the response say what the row says, replacing what it said before."""
    response.questionnaire_code = questionnaire.code
    response.questionnaire_version = questionnaire.version
    response.mode = row.mode
    response.language = row.language or response.language
    response.first_follow_up = row.first
    response.interviewer_id = None
    response.reached_module = None
    if response.started_at is None or response.completed_at is not None or response.started_at > row.completed_at:
        response.started_at = row.completed_at  # a platform start before the completion date is kept
    response.answer_rows = []
    operations.save_answers(response, questionnaire.items, row.answers)
    response.completed_at = row.completed_at
    response.imported = True
