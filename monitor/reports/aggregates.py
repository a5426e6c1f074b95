"""Every figure's SQL: one GROUP BY each, over `follow_ups` joined to its returnee, its stratum and
its response. Only sums and counts leave the database; the arithmetic on them (rates, the
estimator) is in `monitor.reports.estimator` and `monitor.reports.tables`.

Each function takes a `ReportFilter` and the dimensions to break down by (`filters.DIMENSIONS`)
and returns plain tuples, the dimension values first, in the order of `by`.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, literal, select

from monitor.extensions import db
from monitor.models import (
    FollowUp, Response, ResponseAnswer, ResponseFlag, ResponseScore, Returnee, SampleStratum,
)
from monitor.reports.filters import DIMENSIONS, ReportFilter, check_by

RESPONDED = ("1.1", "1.2")  # respondents: complete and partial
SCORES = ("economic", "social", "psychosocial", "composite")


def _run(stmt):
    """Core execution on the session's connection (and transaction): plain rows, without the ORM's
    per-row loading, which costs more than the query itself for tens of thousands of groups."""
    return db.session.connection().execute(stmt)


def _base(flt: ReportFilter, *columns):
    stmt = select(*columns).select_from(FollowUp).join(Returnee, Returnee.id == FollowUp.returnee_id)
    return stmt.where(*flt.where_clauses())


def _dims(by: Sequence[str]) -> list:
    return [DIMENSIONS[name].label(name) for name in check_by(by)]


def not_eligible(column=FollowUp.disposition):
    return column.like("4.%")


# -- dispositions -------------------------------------------------------------------------

def disposition_counts(flt: ReportFilter, by: Sequence[str], weighted: bool = False) -> list[tuple]:
    """(dimension values..., disposition, count) for every closed follow-up. Weighted: the sum of
    base weights 1/π instead of the count (follow-ups without a probability are left out)."""
    dims = _dims(by)
    measure = func.sum(1.0 / FollowUp.inclusion_probability) if weighted else func.count()
    stmt = _base(flt, *dims, FollowUp.disposition, measure).where(FollowUp.disposition.is_not(None))
    if weighted:
        stmt = stmt.where(FollowUp.inclusion_probability > 0)
    return [tuple(row) for row in _run(stmt.group_by(*dims, FollowUp.disposition)).all()]


def mode_counts(flt: ReportFilter) -> list[tuple]:
    """(wave, mode achieved, respondents): how the complete and partial responses came in."""
    stmt = (_base(flt, FollowUp.wave, Response.mode, func.count())
            .join(Response, Response.follow_up_id == FollowUp.id)
            .where(FollowUp.disposition.in_(RESPONDED)).group_by(FollowUp.wave, Response.mode))
    return [tuple(row) for row in _run(stmt).all()]


def retention_counts(flt: ReportFilter, first_wave: str) -> list[tuple]:
    """(later wave, respondents of `first_wave` followed up in it, of whom responded again): the
    attrition from the one-month check. Follow-ups still open or not eligible are left out."""
    later = FollowUp.__table__.alias("later")
    responded_again = func.sum(case((later.c.disposition.in_(RESPONDED), 1), else_=0))
    stmt = (_base(flt, later.c.wave, func.count(), responded_again)
            .join(later, and_(later.c.returnee_id == FollowUp.returnee_id, later.c.wave != FollowUp.wave))
            .where(FollowUp.wave == first_wave, FollowUp.disposition.in_(RESPONDED),
                   later.c.disposition.is_not(None), ~not_eligible(later.c.disposition))
            .group_by(later.c.wave))
    return [tuple(row) for row in _run(stmt).all()]


# -- the design of a wave ------------------------------------------------------------------

@dataclass(frozen=True)
class Stratum:
    """A stratum of a wave's design: N_h (frame size less its 4.x follow-ups), r_h respondents."""

    population: int
    respondents: int

    @property
    def weight(self) -> float | None:
        """w_h = N_h / r_h: the base weight corrected for non-response within the stratum."""
        return self.population / self.respondents if self.respondents else None


def strata(waves: Sequence[str] | None = None) -> dict[int, tuple[str, Stratum]]:
    """stratum id -> (wave, Stratum) for every stratum of the waves' follow-ups, those without
    respondents included (r_h = 0). The design is the whole wave's, whatever the filter."""
    respondents = func.sum(case((FollowUp.disposition.in_(RESPONDED), 1), else_=0))
    excluded = func.sum(case((not_eligible(), 1), else_=0))
    stmt = (select(FollowUp.wave, FollowUp.stratum_id, SampleStratum.frame_size, respondents, excluded)
            .join(SampleStratum, SampleStratum.id == FollowUp.stratum_id)
            .group_by(FollowUp.wave, FollowUp.stratum_id, SampleStratum.frame_size))
    if waves:
        stmt = stmt.where(FollowUp.wave.in_(waves))
    return {stratum_id: (wave, Stratum(population=frame_size - int(four_x or 0), respondents=int(r_h or 0)))
            for wave, stratum_id, frame_size, r_h, four_x in _run(stmt).all()}


def wave_designs(waves: Sequence[str] | None = None) -> dict[str, dict[int, Stratum]]:
    """wave -> stratum id -> Stratum, for every stratum with respondents (`strata`)."""
    designs: dict[str, dict[int, Stratum]] = defaultdict(dict)
    for stratum_id, (wave, stratum) in strata(waves).items():
        if stratum.respondents:
            designs[wave][stratum_id] = stratum
    return dict(designs)


# -- sums for the estimator ----------------------------------------------------------------

def _respondents(flt: ReportFilter, *columns):
    return (_base(flt, *columns).join(Response, Response.follow_up_id == FollowUp.id)
            .where(FollowUp.disposition.in_(RESPONDED), FollowUp.stratum_id.is_not(None)))


def score_sums(flt: ReportFilter, by: Sequence[str], version: int | None) -> list[tuple]:
    """(wave, stratum id, dimension values..., score, n, Σy, Σy²) for each score of the active
    scoring version; n counts respondents with a score (a missing score is d = 0)."""
    dims = _dims(by)
    sums = []
    for score in SCORES:
        column = getattr(ResponseScore, score)
        sums += [func.count(column), func.sum(column), func.sum(column * column)]
    stmt = (_respondents(flt, FollowUp.wave, FollowUp.stratum_id, *dims, *sums)
            .join(ResponseScore, and_(ResponseScore.response_id == Response.id, ResponseScore.version == version))
            .group_by(FollowUp.wave, FollowUp.stratum_id, *dims))
    rows = []
    for row in _run(stmt).all():
        head, values = tuple(row[:2 + len(dims)]), row[2 + len(dims):]
        for i, score in enumerate(SCORES):
            n, total, squares = values[3 * i: 3 * i + 3]
            if n:
                rows.append((*head, score, int(n), float(total), float(squares)))
    return rows


def flag_sums(flt: ReportFilter, by: Sequence[str], flags: dict[str, Sequence[str]]) -> list[tuple]:
    """(wave, stratum id, dimension values..., flag, n, Σy) for each red flag (`flags`: code ->
    the items its rule reads): y = 1 when raised. A respondent who answered none of a flag's
    items was never asked them: missing, not "no"."""
    dims = _dims(by)
    codes = list(flags)
    answer = ResponseAnswer.__table__.alias("answer")
    raised = ResponseFlag.__table__.alias("raised")
    items = sorted({item for rule in flags.values() for item in rule})
    columns = []
    for i, flag in enumerate(codes):
        columns.append(func.max(case((answer.c.item.in_(list(flags[flag])), 1), else_=0)).label(f"asked{i}"))
        columns.append(func.max(case((raised.c.flag == flag, 1), else_=0)).label(f"raised{i}"))
    per_respondent = (_respondents(flt, FollowUp.wave, FollowUp.stratum_id, *dims, *columns)
                      .outerjoin(answer, and_(answer.c.response_id == Response.id, answer.c.item.in_(items)))
                      .outerjoin(raised, and_(raised.c.response_id == Response.id, raised.c.flag.in_(codes)))
                      .group_by(Response.id, FollowUp.wave, FollowUp.stratum_id, *dims)
                      .subquery())
    keys = [per_respondent.c[name] for name in ("wave", "stratum_id", *by)]
    sums = []
    for i in range(len(codes)):
        asked = per_respondent.c[f"asked{i}"]
        sums += [func.sum(asked), func.sum(asked * per_respondent.c[f"raised{i}"])]
    rows = []
    for row in _run(select(*keys, *sums).group_by(*keys)).all():
        head, values = tuple(row[:len(keys)]), row[len(keys):]
        for i, flag in enumerate(codes):
            if values[2 * i]:
                rows.append((*head, flag, int(values[2 * i]), int(values[2 * i + 1])))
    return rows


def answer_patterns(flt: ReportFilter, by: Sequence[str], items: dict[str, str]) -> list[tuple]:
    """(wave, stratum id, dimension values..., first follow-up, pattern, respondents): respondents
    grouped by their answers to `items` (item code -> how its answer is stored: "code", "codes"
    for several, "number" (or a text such as "dont_know"), "text"), for the figures a rule
    decides (the key indicators): each pattern is evaluated once. `pattern` is a tuple of stored
    values (None: not answered; several codes joined by ";"): `pattern_answers` reads it."""
    dims = _dims(by)
    answer = ResponseAnswer.__table__.alias("answer")
    columns = []
    for item, kind in items.items():
        stored = {"code": [answer.c.code], "codes": [answer.c.code], "number": [answer.c.number, answer.c.text],
                  "text": [answer.c.text]}[kind]
        for column in stored:
            value = case((answer.c.item == item, column))
            columns.append(func.aggregate_strings(value, ";") if kind == "codes" else func.max(value))
    columns = [column.label(f"a{i}") for i, column in enumerate(columns)]
    per_respondent = (_respondents(flt, FollowUp.wave, FollowUp.stratum_id, *dims,
                                   Response.first_follow_up.label("first_follow_up"), *columns)
                      .outerjoin(answer, and_(answer.c.response_id == Response.id, answer.c.item.in_(list(items))))
                      .group_by(Response.id, FollowUp.wave, FollowUp.stratum_id, *dims, Response.first_follow_up)
                      .subquery())
    keys = [per_respondent.c[name] for name in ("wave", "stratum_id", *by, "first_follow_up")]
    values = [per_respondent.c[column.name] for column in columns]
    stmt = select(*keys, *values, func.count()).group_by(*keys, *values)
    width = len(keys)
    rows = _run(stmt).tuples().all()
    return [(*row[:width], row[width:-1], row[-1]) for row in map(tuple, rows)]


def pattern_answers(items: dict[str, str], pattern: tuple) -> dict:
    """The answers of a pattern of `answer_patterns`, as `Questionnaire` reads them."""
    answers, values = {}, iter(pattern)
    for item, kind in items.items():
        value = next(values)
        if kind == "number":
            text = next(values)
            value = value if value is not None else text
        if value is not None:
            answers[item] = value.split(";") if kind == "codes" else value
    return answers


def option_counts(flt: ReportFilter, by: Sequence[str], item: str, weighted: bool = False) -> list[tuple]:
    """(dimension values..., position, code, count) of the chosen options of a multiple or ranked
    item, over respondents (complete, partial) and break-offs alike: every answer given counts.
    Weighted: Σ 1/π (respondents without a probability are left out)."""
    dims = _dims(by)
    measure = func.sum(1.0 / FollowUp.inclusion_probability) if weighted else func.count()
    stmt = (_base(flt, *dims, ResponseAnswer.position, ResponseAnswer.code, measure)
            .join(Response, Response.follow_up_id == FollowUp.id)
            .join(ResponseAnswer, ResponseAnswer.response_id == Response.id)
            .where(ResponseAnswer.item == item, FollowUp.disposition.in_(RESPONDED))
            .group_by(*dims, ResponseAnswer.position, ResponseAnswer.code))
    if weighted:
        stmt = stmt.where(FollowUp.inclusion_probability > 0)
    return [tuple(row) for row in _run(stmt).all()]


def group_counts(flt: ReportFilter, by: Sequence[str], item: str, groups: dict[str, str], *,
                 first_only: bool = False, weighted: bool = False) -> list[tuple]:
    """(dimension values..., group, respondents) of respondents who chose at least one option of
    each reporting group of a multiple item (`groups`: option code -> group); `first_only`: the
    option marked first (stored at position 0). Weighted: Σ 1/π."""
    dims = _dims(by)
    group = case(*((ResponseAnswer.code == code, name) for code, name in groups.items()), else_=ResponseAnswer.code)
    weight = (1.0 / FollowUp.inclusion_probability) if weighted else literal(1)
    chosen = (_base(flt, *dims, Response.id.label("response_id"), group.label("grp"), weight.label("weight"))
              .join(Response, Response.follow_up_id == FollowUp.id)
              .join(ResponseAnswer, ResponseAnswer.response_id == Response.id)
              .where(ResponseAnswer.item == item, FollowUp.disposition.in_(RESPONDED)).distinct())
    if first_only:
        chosen = chosen.where(ResponseAnswer.position == 0)
    if weighted:
        chosen = chosen.where(FollowUp.inclusion_probability > 0)
    inner = chosen.subquery()
    columns = [inner.c[name] for name in by]
    stmt = select(*columns, inner.c.grp, func.sum(inner.c.weight)).group_by(*columns, inner.c.grp)
    return [tuple(row) for row in _run(stmt).all()]


def answering_counts(flt: ReportFilter, by: Sequence[str], item: str, weighted: bool = False) -> list[tuple]:
    """(dimension values..., respondents who answered `item`): the base of its shares."""
    dims = _dims(by)
    measure = func.sum(1.0 / FollowUp.inclusion_probability) if weighted else func.count()
    answered = exists().where(ResponseAnswer.response_id == Response.id, ResponseAnswer.item == item)
    stmt = (_base(flt, *dims, measure).join(Response, Response.follow_up_id == FollowUp.id)
            .where(answered, FollowUp.disposition.in_(RESPONDED)).group_by(*dims))
    if weighted:
        stmt = stmt.where(FollowUp.inclusion_probability > 0)
    return [tuple(row) for row in _run(stmt).all()]

