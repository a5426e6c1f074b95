"""The responses export: one row per follow-up of the chosen waves (respondents and
non-respondents), pseudonymous, with the design of the dashboard's estimator and the answers
as stable numeric codes (`surveys.variables`). Written as CSV, Excel, SPSS or Stata
(`monitor.exports.files`); the same for the command line and the page.

    table = responses_table(ReportFilter(waves=("m6",)), language="fr", with_text=False)
    export_responses(flt, fmt="sav", language="fr", with_text=False, user=..., actor=...)

Never a name or a phone number: the case is its pseudonymous code. Free-text answers (which can
hold names or numbers) only with `with_text`, for administrators. Every export is audited.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, select

from monitor import audit
from monitor.extensions import db
from monitor.models import (
    FollowUp, Organisation, Response, ResponseAnswer, ResponseFlag, ResponseScore, Returnee, ReturneeVulnerability,
    ScoringVersion, User,
)
from monitor.reports import aggregates
from monitor.reports.filters import ReportFilter
from surveys import registry
from surveys.items import Scale
from surveys.translation import LANGUAGES, translator
from surveys.variables import CASE_COLUMNS, Column, column_names, item_columns, numeric_codes

QUESTIONNAIRE = "standard"
FORMATS = ("csv", "xlsx", "sav", "dta")

CASE_LABELS = {
    "code": "pseudonymous case code", "wave": "wave", "country": "destination country (ISO 3166-1 alpha-2)",
    "partner": "reintegration partner", "local_partner": "local partner", "cohort": "month of return (YYYY-MM)",
    "sex": "sex", "vulnerabilities": "vulnerabilities (;-separated)", "channel": "assigned channel",
    "mode": "mode achieved", "aapor": "AAPOR final disposition", "stratum": "stratum (as drawn)",
    "N_h": "stratum frame size less not eligible (4.x)", "probability": "inclusion probability n_h/N_h",
    "weight": "weight N_h/r_h (respondents 1.1, 1.2 only)", "scoring_version": "scoring version",
    "score_economic": "economic score 0..1", "score_social": "social score 0..1",
    "score_psychosocial": "psychosocial score 0..1", "score_composite": "composite score 0..1",
}
NUMERIC_CASE_COLUMNS = frozenset({"stratum", "N_h", "probability", "weight", "scoring_version", "score_economic",
                                  "score_social", "score_psychosocial", "score_composite"})
# Columns no export ever has: identity stays in the returnees table.
FORBIDDEN_COLUMNS = frozenset({"name", "phone", "phone_lookup", "birth_year"})


class ExportRefused(Exception):
    """What the account may not export (free text without being an administrator)."""


@dataclass
class Variable:
    name: str
    label: str  # the full item code (the variable label)
    numeric: bool
    values: dict[int, str] = field(default_factory=dict)  # value labels in the chosen language
    missing: tuple[int, ...] = ()  # user-missing codes (SPSS)


@dataclass
class ResponsesTable:
    variables: list[Variable]
    rows: list[list]  # one per follow-up, values in the order of `variables` (None: missing)
    language: str
    with_text: bool
    waves: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]


def _questionnaires():
    return [q for (code, _v), q in registry.all_versions().items() if code == QUESTIONNAIRE]


def export_columns(with_text: bool) -> tuple[list[str], list, dict[str, str]]:
    """(flag codes, item columns, key -> variable name): names given over every column, free
    text included, so that leaving the text out changes no other name."""
    versions = _questionnaires()
    flags = [flag.code for flag in registry.current(QUESTIONNAIRE).flags]
    items = item_columns(versions)
    names = column_names(versions)
    if not with_text:
        items = [c for c in items if c.kind != "text"]
    return flags, items, names


def _variables(flags, items: list[Column], names, language: str) -> list[Variable]:
    t = translator(language)
    versions = _questionnaires()
    codes = numeric_codes(versions)
    labels: dict[str, dict[str, str]] = {}  # item -> option code -> label, newest wording first
    scales: dict[str, dict[int, str]] = {}
    for questionnaire in sorted(versions, key=lambda q: -q.version):
        for item in questionnaire.items:
            for option in item.options:
                labels.setdefault(item.code, {}).setdefault(option.code, t(option.label))
            if isinstance(item, Scale) and item.code not in scales:
                scales[item.code] = {item.low: f"{item.low} – {t(item.low_label)}" if item.low_label else str(item.low),
                                     item.high: (f"{item.high} – {t(item.high_label)}" if item.high_label
                                                 else str(item.high))}
    yes_no = {0: t("No"), 1: t("Yes")}
    variables = [Variable(names[c], CASE_LABELS[c], c in NUMERIC_CASE_COLUMNS) for c in CASE_COLUMNS]
    variables += [Variable(names[f"flag:{f}"], f"flag:{f}", True, dict(yes_no)) for f in flags]
    for column in items:
        name = names[column.key]
        if column.kind == "text":
            variables.append(Variable(name, column.key, False))
        elif column.kind == "option":
            variables.append(Variable(name, column.key, True, dict(yes_no)))
        elif column.item in codes:  # a choice: its codes with their labels
            values = {codes[column.item][o]: labels[column.item][o] for o in codes[column.item]}
            missing = tuple(sorted(n for n in values if n >= 97))
            variables.append(Variable(name, column.key, True, values, missing))
        elif column.item in scales:
            variables.append(Variable(name, column.key, True, scales[column.item]))
        else:
            kind = next(q.item(column.item).type_name for q in versions if q.has_item(column.item))
            variables.append(Variable(name, column.key, kind == "number"))
    return variables


def responses_table(flt: ReportFilter, *, language: str = "en", with_text: bool = False) -> ResponsesTable:
    """The rows of the export: every follow-up the filter (waves, scope) leaves."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r} (one of {', '.join(LANGUAGES)})")
    flags, items, names = export_columns(with_text)
    variables = _variables(flags, items, names, language)
    codes = numeric_codes(_questionnaires())
    current = registry.current(QUESTIONNAIRE)
    flag_items = {flag.code: flag.when.items() for flag in current.flags}
    version = ScoringVersion.active_number()
    organisations = dict(db.session.execute(select(Organisation.id, Organisation.code)).all())
    strata = aggregates.strata(flt.waves or None)

    run = db.session.connection().execute
    base = (select(FollowUp.id, Returnee.id, Returnee.code, FollowUp.wave, Returnee.destination_country,
                   Returnee.partner_id, Returnee.local_partner_id, Returnee.return_date, Returnee.sex, FollowUp.channel,
                   Response.mode, FollowUp.disposition, FollowUp.stratum_id, FollowUp.inclusion_probability,
                   Response.id, ResponseScore.economic, ResponseScore.social, ResponseScore.psychosocial,
                   ResponseScore.composite, ResponseScore.version)
            .select_from(FollowUp).join(Returnee, Returnee.id == FollowUp.returnee_id)
            .outerjoin(Response, Response.follow_up_id == FollowUp.id)
            .outerjoin(ResponseScore, and_(ResponseScore.response_id == Response.id, ResponseScore.version == version))
            .where(*flt.where_clauses()).order_by(FollowUp.wave, Returnee.code, FollowUp.id))
    follow_ups = run(base).all()
    scoped = base.with_only_columns(FollowUp.id).order_by(None).subquery()
    responded = base.with_only_columns(Response.id).order_by(None).where(Response.id.is_not(None)).subquery()
    vulnerabilities: dict[int, list[str]] = defaultdict(list)
    for returnee_id, category in run(
            select(ReturneeVulnerability.returnee_id, ReturneeVulnerability.category)
            .join(FollowUp, FollowUp.returnee_id == ReturneeVulnerability.returnee_id)
            .where(FollowUp.id.in_(select(scoped.c.id))).distinct()
            .order_by(ReturneeVulnerability.returnee_id, ReturneeVulnerability.category)).all():
        vulnerabilities[returnee_id].append(category)
    answers: dict[int, dict] = defaultdict(dict)
    for response_id, item, position, code, number, text in run(
            select(ResponseAnswer.response_id, ResponseAnswer.item, ResponseAnswer.position, ResponseAnswer.code,
                   ResponseAnswer.number, ResponseAnswer.text)
            .where(ResponseAnswer.response_id.in_(select(responded.c.id)))
            .order_by(ResponseAnswer.response_id, ResponseAnswer.item, ResponseAnswer.position)).all():
        value = code if code is not None else number if number is not None else text
        if position is None:
            answers[response_id][item] = value
        else:
            answers[response_id].setdefault(item, []).append(value)
    raised: dict[int, set[str]] = defaultdict(set)
    for response_id, flag in run(select(ResponseFlag.response_id, ResponseFlag.flag)
                                 .where(ResponseFlag.response_id.in_(select(responded.c.id)))).all():
        raised[response_id].add(flag)

    rows = []
    for (_fid, returnee_id, code, wave, country, partner_id, local_id, returned, sex, channel, mode, disposition,
         stratum_id, probability, response_id, economic, social, psychosocial, composite, scored) in follow_ups:
        stratum = strata.get(stratum_id, (None, None))[1] if stratum_id is not None else None
        respondent = disposition in aggregates.RESPONDED and stratum is not None
        row = [code, wave, country, organisations.get(partner_id), organisations.get(local_id),
               returned.strftime("%Y-%m"), sex, ";".join(vulnerabilities.get(returnee_id, [])) or None, channel, mode,
               disposition, stratum_id, stratum.population if stratum else None, probability,
               stratum.weight if respondent else None, scored, economic, social, psychosocial, composite]
        given = answers.get(response_id, {}) if response_id is not None else {}
        for flag in flags:
            asked = response_id is not None and any(item in given for item in flag_items[flag])
            row.append((1 if flag in raised[response_id] else 0) if asked else None)
        for column in items:
            row.append(_cell(column, given, codes))
        rows.append(row)
    return ResponsesTable(variables, rows, language, with_text, tuple(flt.waves))


def _cell(column: Column, given: dict, codes: dict[str, dict[str, int]]):
    value = given.get(column.item)
    if value is None:
        return None
    numbers = codes.get(column.item, {})
    if column.kind == "option":
        return 1 if column.option in value else 0
    if column.kind == "first":
        return numbers.get(value[0]) if value else None
    if column.kind == "rank":
        return numbers.get(value[column.rank - 1]) if len(value) >= column.rank else None
    if column.kind == "text":
        return str(value)
    if column.item in codes:
        return numbers.get(value)  # an option no version knows: missing rather than a wrong code
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# -- the export as an operation -----------------------------------------------------------------

@dataclass(frozen=True)
class Export:
    data: bytes
    filename: str
    rows: int
    mimetype: str


def file_name(waves, fmt: str, today: date) -> str:
    """responses-m6-2026-12-02.sav: waves and date, never anything personal."""
    return f"responses-{'-'.join(sorted(waves)) or 'all'}-{today.isoformat()}.{fmt}"


def export_responses(flt: ReportFilter, *, fmt: str, language: str, with_text: bool, user: User | None,
                     actor: str | None = None, today: date | None = None) -> Export:
    """Build the file and add its audit entry to the session (the caller commits). Free text
    only for an administrator; the caller scopes `flt` (ReportFilter.for_user)."""
    from monitor.exports import files
    from monitor.models.types import utcnow

    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    if with_text and (user is None or user.role != "admin"):
        raise ExportRefused("free-text answers are exported for administrators only")
    table = responses_table(flt, language=language, with_text=with_text)
    data = files.write(table, fmt)
    audit.record("export.responses", user=user, actor=actor, details={
        "waves": list(table.waves), "format": fmt, "rows": len(table.rows), "with_text": with_text,
        "labels": language, **({"organisation": flt.organisation} if flt.organisation else {})})
    return Export(data, file_name(table.waves, fmt, today or utcnow().date()), len(table.rows), files.MIMETYPES[fmt])
