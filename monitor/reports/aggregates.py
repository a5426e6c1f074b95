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
    return [tuple(row) for row in db.session.execute(stmt.group_by(*dims, FollowUp.disposition)).all()]


def mode_counts(flt: ReportFilter) -> list[tuple]:
    """(wave, mode achieved, respondents): how the complete and partial responses came in."""
    stmt = (_base(flt, FollowUp.wave, Response.mode, func.count())
            .join(Response, Response.follow_up_id == FollowUp.id)
            .where(FollowUp.disposition.in_(RESPONDED)).group_by(FollowUp.wave, Response.mode))
    return [tuple(row) for row in db.session.execute(stmt).all()]


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
    return [tuple(row) for row in db.session.execute(stmt).all()]


# -- the design of a wave ------------------------------------------------------------------

@dataclass(frozen=True)
class Stratum:
    """A stratum of a wave's design: N_h (frame size less its 4.x follow-ups), r_h respondents."""

    population: int
    respondents: int


def wave_designs(waves: Sequence[str] | None = None) -> dict[str, dict[int, Stratum]]:
    """wave -> stratum id -> Stratum, for every stratum with respondents. The design is the whole
    wave's, whatever the filter: a domain is never a new design."""
    respondents = func.sum(case((FollowUp.disposition.in_(RESPONDED), 1), else_=0))
    excluded = func.sum(case((not_eligible(), 1), else_=0))
    stmt = (select(FollowUp.wave, FollowUp.stratum_id, SampleStratum.frame_size, respondents, excluded)
            .join(SampleStratum, SampleStratum.id == FollowUp.stratum_id)
            .group_by(FollowUp.wave, FollowUp.stratum_id, SampleStratum.frame_size))
    if waves:
        stmt = stmt.where(FollowUp.wave.in_(waves))
    designs: dict[str, dict[int, Stratum]] = defaultdict(dict)
    for wave, stratum_id, frame_size, r_h, four_x in db.session.execute(stmt).all():
        if r_h:
            designs[wave][stratum_id] = Stratum(population=frame_size - four_x, respondents=int(r_h))
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
    for row in db.session.execute(stmt).all():
        head, values = tuple(row[:2 + len(dims)]), row[2 + len(dims):]
        for i, score in enumerate(SCORES):
            n, total, squares = values[3 * i: 3 * i + 3]
            if n:
                rows.append((*head, score, int(n), float(total), float(squares)))
    return rows


def flag_sums(flt: ReportFilter, by: Sequence[str], flag: str, items: Sequence[str]) -> list[tuple]:
    """(wave, stratum id, dimension values..., n, Σy) for a red flag: y = 1 when raised. A
    respondent who answered none of the flag's items was never asked them: missing, not "no"."""
    dims = _dims(by)
    raised = exists().where(ResponseFlag.response_id == Response.id, ResponseFlag.flag == flag)
    asked = exists().where(ResponseAnswer.response_id == Response.id, ResponseAnswer.item.in_(list(items)))
    stmt = (_respondents(flt, FollowUp.wave, FollowUp.stratum_id, *dims, func.count(),
                         func.sum(case((raised, 1), else_=0)))
            .where(asked).group_by(FollowUp.wave, FollowUp.stratum_id, *dims))
    return [(*row[:-2], int(row[-2]), int(row[-1])) for row in db.session.execute(stmt).all()]


def respondent_answers(flt: ReportFilter, by: Sequence[str], items: Sequence[str]):
    """(wave, stratum id, dimension values..., first follow-up, answers) per respondent, with their
    answers to `items` only: for figures a condition decides (the key indicators)."""
    dims = _dims(by)
    stmt = _respondents(flt, Response.id, FollowUp.wave, FollowUp.stratum_id, *dims, Response.first_follow_up)
    people = {row[0]: tuple(row[1:]) for row in db.session.execute(stmt).all()}
    answers: dict[int, dict] = defaultdict(dict)
    if people:
        rows = db.session.execute(
            select(ResponseAnswer.response_id, ResponseAnswer.item, ResponseAnswer.position, ResponseAnswer.code,
                   ResponseAnswer.number, ResponseAnswer.text)
            .join(Response, Response.id == ResponseAnswer.response_id)
            .join(FollowUp, FollowUp.id == Response.follow_up_id)
            .join(Returnee, Returnee.id == FollowUp.returnee_id)
            .where(*flt.where_clauses(), FollowUp.disposition.in_(RESPONDED), FollowUp.stratum_id.is_not(None),
                   ResponseAnswer.item.in_(list(items)))
            .order_by(ResponseAnswer.response_id, ResponseAnswer.item, ResponseAnswer.position))
        for response_id, item, position, code, number, text in rows:
            value = code if code is not None else number if number is not None else text
            if position is None:
                answers[response_id][item] = value
            else:
                answers[response_id].setdefault(item, []).append(value)
    return [(*head, answers.get(response_id, {})) for response_id, head in people.items()]


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
    return [tuple(row) for row in db.session.execute(stmt).all()]


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
    return [tuple(row) for row in db.session.execute(stmt).all()]


def answering_counts(flt: ReportFilter, by: Sequence[str], item: str, weighted: bool = False) -> list[tuple]:
    """(dimension values..., respondents who answered `item`): the base of its shares."""
    dims = _dims(by)
    measure = func.sum(1.0 / FollowUp.inclusion_probability) if weighted else func.count()
    answered = exists().where(ResponseAnswer.response_id == Response.id, ResponseAnswer.item == item)
    stmt = (_base(flt, *dims, measure).join(Response, Response.follow_up_id == FollowUp.id)
            .where(answered, FollowUp.disposition.in_(RESPONDED)).group_by(*dims))
    if weighted:
        stmt = stmt.where(FollowUp.inclusion_probability > 0)
    return [tuple(row) for row in db.session.execute(stmt).all()]

