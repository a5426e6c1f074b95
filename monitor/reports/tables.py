"""The dashboard's figures as plain rows: caseload, response, outcomes, how they heard, decision
factors, trends. Pure functions of a `ReportFilter`: the command line, the page and the API
call them and only format what they return.

    caseload(ReportFilter(waves=("m1",)))                      # -> Caseload
    response(ReportFilter(), by=("wave", "channel", "country", "partner"), weighted=False)
    outcomes(ReportFilter(countries=("GE",)), by=("partner",))  # -> list[OutcomeRow]
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from babel import Locale
from sqlalchemy import select

from monitor.extensions import db
from monitor.models import Organisation, ScoringVersion, Wave
from monitor.reports import aggregates
from monitor.reports.estimator import Estimate, Sums, degrees_of_freedom, estimate
from monitor.reports.filters import FilterError, ReportFilter, check_by
from scheduler.dispositions import category
from surveys import registry

ALL = "all"
CATEGORIES = ("I", "P", "R", "NC", "O", "U", "NE")
RATES = ("RR1", "RR2", "COOP1", "CON1", "REF1")


def country_name(alpha2: str) -> str:
    """The English name the staff pages show (Babel's territory names)."""
    return Locale("en").territories.get(alpha2, alpha2)


def partners_in_scope(flt: ReportFilter) -> list[Organisation]:
    """The reintegration partners a report has a column for: those the filter and the scope leave."""
    stmt = select(Organisation).where(Organisation.kind == "reintegration").order_by(Organisation.name)
    if flt.partners:
        stmt = stmt.where(Organisation.code.in_(flt.partners))
    partners = db.session.scalars(stmt).all()
    if flt.organisation:
        org = db.session.scalar(select(Organisation).where(Organisation.code == flt.organisation))
        if org is None:
            raise FilterError(f"there is no organisation {flt.organisation!r}")
        partners = [p for p in partners if p.id == org.reintegration_partner.id]
    return partners


def _codes() -> dict[int, str]:
    return dict(db.session.execute(select(Organisation.id, Organisation.code)).all())


def _label_dimension(name: str, value, codes: dict[int, str]) -> str:
    """A dimension's value as the CSV shows it: a country as ISO alpha-2, a partner by its code."""
    if value is None:
        return ""
    if name in ("partner", "local_partner"):
        return codes.get(value, str(value))
    if name == "quarter":
        return f"{int(value) // 10}-Q{int(value) % 10}"
    return str(value)


# -- 1. caseload --------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseloadRow:
    label: str  # the country's English name, "n.a." or "Total"
    country: str | None  # ISO alpha-2 (None for n.a. and Total)
    cells: tuple[int, ...]  # one per partner column
    total: int


@dataclass(frozen=True)
class Caseload:
    partners: tuple[str, ...]  # column headers: the reintegration partners' names
    partner_codes: tuple[str, ...]
    rows: tuple[CaseloadRow, ...]  # countries, then "n.a.", then "Total"


def caseload(flt: ReportFilter) -> Caseload:
    """Completed surveys (1.1) by destination country and partner; then `n.a.`, the follow-ups
    ended as refusals, implicit refusals or break-offs (2.1x); then `Total`, n.a. included."""
    partners = partners_in_scope(flt)
    column = {p.id: i for i, p in enumerate(partners)}
    completed: dict[str, list[int]] = defaultdict(lambda: [0] * len(partners))
    refused = [0] * len(partners)
    for country, partner_id, disposition, count in aggregates.disposition_counts(flt, ("country", "partner")):
        if partner_id not in column:
            continue
        if disposition == "1.1":
            completed[country][column[partner_id]] += count
        elif category(disposition) == "R":
            refused[column[partner_id]] += count
    rows = [CaseloadRow(country_name(c), c, tuple(cells), sum(cells)) for c, cells in completed.items()]
    rows.sort(key=lambda row: (-row.total, row.label))
    rows.append(CaseloadRow("n.a.", None, tuple(refused), sum(refused)))
    totals = tuple(sum(row.cells[i] for row in rows) for i in range(len(partners)))
    rows.append(CaseloadRow("Total", None, totals, sum(totals)))
    return Caseload(tuple(p.name for p in partners), tuple(p.code for p in partners), tuple(rows))


# -- 2. response --------------------------------------------------------------------------

@dataclass(frozen=True)
class ResponseRow:
    wave: str
    channel: str
    country: str
    partner: str
    counts: dict[str, float]  # per AAPOR category, CATEGORIES
    rates: dict[str, float | None]  # RATES, 4 decimals; None when the denominator is 0


def rates(counts: dict[str, float]) -> dict[str, float | None]:
    """AAPOR's rates from the counts per category (NE is in no denominator)."""
    i, p, r, nc, o, u = (counts.get(c, 0) for c in ("I", "P", "R", "NC", "O", "U"))
    eligible = (i + p) + (r + nc + o) + u
    cooperating = (i + p) + r + o

    def ratio(numerator, denominator):
        return round(numerator / denominator, 4) if denominator else None

    return {"RR1": ratio(i, eligible), "RR2": ratio(i + p, eligible), "COOP1": ratio(i, cooperating),
            "CON1": ratio(cooperating, eligible), "REF1": ratio(r, eligible)}


RESPONSE_BY = ("wave", "channel", "country", "partner")


def response(flt: ReportFilter, by: Sequence[str] = RESPONSE_BY, weighted: bool = False) -> list[ResponseRow]:
    """Counts per AAPOR category and the rates, one row per combination of `by` present, plus a
    row with channel `all` for each of the others when the channel is broken down. A column not
    in `by` is `all`. Weighted: base weights 1/π instead of counts."""
    others = [name for name in check_by(by) if name not in RESPONSE_BY]
    if others:
        raise FilterError(f"the response table breaks down by {', '.join(RESPONSE_BY)} only, not {', '.join(others)}")
    by = tuple(name for name in RESPONSE_BY if name in by)
    codes = _codes()
    cells: dict[tuple, dict[str, float]] = defaultdict(lambda: dict.fromkeys(CATEGORIES, 0))
    for *values, disposition, count in aggregates.disposition_counts(flt, by, weighted):
        key = dict.fromkeys(RESPONSE_BY, ALL) | {n: _label_dimension(n, v, codes) for n, v in zip(by, values)}
        for channel in ((key["channel"], ALL) if "channel" in by else (ALL,)):
            counts = cells[(key["wave"], channel, key["country"], key["partner"])]
            counts[category(disposition)] += count
    rows = []
    for (wave, channel, country, partner), counts in sorted(cells.items(), key=lambda kv: _order(kv[0])):
        shown = {c: round(v, 2) for c, v in counts.items()} if weighted else counts
        rows.append(ResponseRow(wave, channel, country, partner, shown, rates(counts)))
    return rows


def _order(key: tuple) -> tuple:
    return tuple((value == ALL, value) for value in key)


@dataclass(frozen=True)
class ModeRow:
    wave: str
    modes: dict[str, int]  # the mode achieved of complete and partial responses: sms-web, phone, visit, import
    living_abroad: int  # follow-ups ended 2.361, re-migrated


MODES = ("sms-web", "phone", "visit", "import")


def modes(flt: ReportFilter) -> list[ModeRow]:
    found: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(MODES, 0))
    for wave, mode, count in aggregates.mode_counts(flt):
        found[wave][mode] = found[wave].get(mode, 0) + count
    abroad: dict[str, int] = defaultdict(int)
    for wave, disposition, count in aggregates.disposition_counts(flt, ("wave",)):
        found[wave]  # every wave with closed follow-ups has a row
        if disposition == "2.361":
            abroad[wave] += count
    return [ModeRow(wave, found[wave], abroad[wave]) for wave in _wave_order(found)]


@dataclass(frozen=True)
class RetentionRow:
    wave: str  # a later wave
    followed_up: int  # respondents of the one-month check with a closed, eligible follow-up in it
    responded: int  # of whom responded again (1.1, 1.2)
    attrition: float | None  # 1 − responded / followed up, 4 decimals


def first_wave() -> str | None:
    return db.session.scalar(select(Wave.code).order_by(Wave.due_days, Wave.code).limit(1))


def attrition(flt: ReportFilter) -> list[RetentionRow]:
    """From the one-month check (the first wave) to each later wave."""
    first = first_wave()
    if first is None:
        return []
    counts = {wave: (int(n), int(again or 0)) for wave, n, again in aggregates.retention_counts(flt, first)}
    return [RetentionRow(wave, n, again, round(1 - again / n, 4) if n else None)
            for wave in _wave_order(counts) for n, again in [counts[wave]]]


def _wave_order(waves) -> list[str]:
    order = {code: i for i, code in enumerate(db.session.scalars(select(Wave.code).order_by(Wave.due_days, Wave.code)))}
    return sorted(waves, key=lambda w: (order.get(w, len(order)), w))


# -- 3. outcomes --------------------------------------------------------------------------

@dataclass(frozen=True)
class OutcomeRow:
    wave: str
    key: dict[str, str]  # the `by` dimensions: filled, or `all`
    indicator: str  # economic, social, psychosocial, composite, a flag code or an indicator code
    kind: str  # "mean" (a score) or "share" (a flag, an indicator)
    result: Estimate = field(repr=False)

    @property
    def n(self) -> int:
        return self.result.n


def outcomes(flt: ReportFilter, by: Sequence[str] = ()) -> list[OutcomeRow]:
    """Scores (means), red flags and key indicators (shares), design-weighted per wave, with 95 %
    intervals and the unweighted n (`monitor.reports.estimator`)."""
    by = tuple(name for name in check_by(by) if name != "wave")
    codes = _codes()
    designs = aggregates.wave_designs(flt.waves or None)
    questionnaire = registry.current()
    # (wave, domain, indicator) -> stratum -> [n, Σy, Σy²]
    cells: dict[tuple, dict[int, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0, 0.0, 0.0]))
    order: list[tuple[str, str]] = [(score, "mean") for score in aggregates.SCORES]
    labels: dict[tuple, tuple] = {}

    def add(wave, stratum_id, values, indicator, n, total, squares):
        values = tuple(values)
        if values not in labels:
            labels[values] = tuple(_label_dimension(name, v, codes) for name, v in zip(by, values))
        sums = cells[(wave, labels[values], indicator)][stratum_id]
        sums[0] += n
        sums[1] += total
        sums[2] += squares

    version = ScoringVersion.active_number()
    for wave, stratum_id, *values, score, n, total, squares in aggregates.score_sums(flt, by, version):
        add(wave, stratum_id, values, score, n, total, squares)
    order += [(flag.code, "share") for flag in questionnaire.flags]
    rules = {flag.code: sorted(flag.when.items()) for flag in questionnaire.flags}
    for wave, stratum_id, *values, flag, n, raised in aggregates.flag_sums(flt, by, rules):
        add(wave, stratum_id, values, flag, n, raised, raised)
    if questionnaire.indicators:
        order += [(indicator.code, "share") for indicator in questionnaire.indicators]
        deciding = {code: _answer_kind(questionnaire.item(code)) for code in _items_deciding(questionnaire)}
        decided: dict[tuple, list] = {}  # strata and domains share answer patterns: each is evaluated once
        width = 2 + len(by)
        for row in aggregates.answer_patterns(flt, by, deciding):
            wave, stratum_id, first, pattern, count = row[0], row[1], row[width], row[width + 1], row[width + 2]
            found = decided.get((first, pattern))
            if found is None:
                answers = aggregates.pattern_answers(deciding, pattern)
                found = decided[(first, pattern)] = [(code, float(value)) for code, value
                                                     in questionnaire.indicator_values(answers, bool(first)).items()
                                                     if value is not None]
            if not found:
                continue
            values = row[2:width]
            key = labels.get(values)
            if key is None:
                key = labels[values] = tuple(_label_dimension(name, v, codes) for name, v in zip(by, values))
            for code, value in found:  # the hot loop of a large caseload: the sums inline
                sums = cells[(wave, key, code)][stratum_id]
                sums[0] += count
                sums[1] += value * count
                sums[2] += value * count
    kinds = dict(order)
    rank = {code: i for i, (code, _kind) in enumerate(order)}
    rows = []
    waves = _wave_order({wave for wave, _key, _ind in cells})
    df = {wave: degrees_of_freedom(designs.get(wave, {})) for wave in waves}
    for wave, key, indicator in sorted(cells, key=lambda c: (waves.index(c[0]), c[1], rank[c[2]])):
        design = designs.get(wave, {})
        sums = {h: Sums(int(n), total, squares) for h, (n, total, squares) in cells[(wave, key, indicator)].items()}
        result = estimate(design, sums, share=kinds[indicator] == "share", df=df[wave])
        rows.append(OutcomeRow(wave, dict(zip(by, key)), indicator, kinds[indicator], result))
    return rows


def _answer_kind(item) -> str:
    """How an item's answer is stored (monitor.responses.operations): codes, a number, a text."""
    if item.type_name in ("multiple", "ranked"):
        return "codes"
    if item.takes_options:
        return "code"
    return "number" if item.type_name in ("number", "scale") else "text"


def _items_deciding(questionnaire) -> list[str]:
    """The items the key indicators read, and those their skip logic reads, transitively."""
    wanted = set().union(*(indicator.when.items() for indicator in questionnaire.indicators))
    todo = list(wanted)
    while todo:
        item = questionnaire.item(todo.pop())
        for code in (item.when.items() if item.when is not None else ()):
            if code not in wanted:
                wanted.add(code)
                todo.append(code)
    return sorted(wanted)


# -- 4. how they heard, decision factors ----------------------------------------------------

HEARD_ITEM = "heard_from"
FACTORS_ITEM = "decision_factors"


def _groups_of(item_code: str) -> dict[str, str]:
    """Option code -> its reporting group (the option itself when it has none), in the current
    questionnaire."""
    item = registry.current().item(item_code)
    return {option.code: (item.groups_of([option.code]) or [option.code])[0] for option in item.options}


@dataclass(frozen=True)
class HeardRow:
    key: dict[str, str]
    group: str  # a reporting group of the questionnaire (word_of_mouth, ...)
    channel: str  # `all` for the group's row, else one of its channels (an option code)
    answered: float  # respondents who answered the question
    every: float  # respondents who named the channel, or a channel of the group
    every_share: float | None
    first: float  # respondents who named it (or one of the group) first
    first_share: float | None


def _key(by, values, codes) -> tuple:
    return tuple(_label_dimension(n, v, codes) for n, v in zip(by, values))


def heard(flt: ReportFilter, by: Sequence[str] = ("country", "partner"), weighted: bool = False) -> list[HeardRow]:
    """How respondents heard of the programme: per reporting group (a respondent counts once per
    group), then each of its channels; every channel named, and the first. Shares of the
    respondents who answered the question (4 decimals); groups and channels by count, descending."""
    by = check_by(by)
    codes, groups = _codes(), _groups_of(HEARD_ITEM)
    answered = {_key(by, row[:-1], codes): row[-1]
                for row in aggregates.answering_counts(flt, by, HEARD_ITEM, weighted)}
    every = {(_key(by, row[:-2], codes), row[-2]): row[-1]
             for row in aggregates.group_counts(flt, by, HEARD_ITEM, groups, weighted=weighted)}
    first = {(_key(by, row[:-2], codes), row[-2]): row[-1]
             for row in aggregates.group_counts(flt, by, HEARD_ITEM, groups, first_only=True, weighted=weighted)}
    channels: dict[tuple, list[float]] = defaultdict(lambda: [0, 0])  # (key, option) -> [every, first]
    for *values, position, code, count in aggregates.option_counts(flt, by, HEARD_ITEM, weighted):
        counts = channels[(_key(by, values, codes), code)]
        counts[0] += count
        if position == 0:
            counts[1] += count
    order = list(dict.fromkeys(groups.values()))
    options = list(groups)

    def row(key, group, channel, n_every, n_first):
        base = answered[key]
        return HeardRow(dict(zip(by, key)), group, channel, _round(base, weighted), _round(n_every, weighted),
                        _share(n_every, base), _round(n_first, weighted), _share(n_first, base))

    rows = []
    for key in sorted(answered, key=_order):
        for group in sorted({g for k, g in every if k == key},
                            key=lambda g: (-every[(key, g)], order.index(g) if g in order else len(order), g)):
            rows.append(row(key, group, ALL, every[(key, group)], first.get((key, group), 0)))
            members = [code for (k, code) in channels if k == key and groups.get(code, code) == group]
            for code in sorted(members, key=lambda c: (-channels[(key, c)][0], options.index(c) if c in options
                                                       else len(options), c)):
                rows.append(row(key, group, code, *channels[(key, code)]))
    return rows


@dataclass(frozen=True)
class FactorRow:
    key: dict[str, str]
    factor: str  # an option of the decision factors
    group: str
    ranks: tuple[float, float, float]  # how many put it first, second, third
    score: float  # 3 × first + 2 × second + 1 × third


def factors(flt: ReportFilter, by: Sequence[str] = ("country", "partner"), weighted: bool = False) -> list[FactorRow]:
    """The decision factors ranked in the top three, counts at each rank (answers with fewer than
    three ranks included) and the rank-weighted score 3/2/1, highest score first."""
    by = check_by(by)
    codes, groups = _codes(), _groups_of(FACTORS_ITEM)
    ranks: dict[tuple, list[float]] = defaultdict(lambda: [0, 0, 0])
    for *values, position, code, count in aggregates.option_counts(flt, by, FACTORS_ITEM, weighted):
        if position is not None and 0 <= position < 3:
            ranks[(_key(by, values, codes), code)][position] += count
    rows = [FactorRow(dict(zip(by, key)), code, groups.get(code, code),
                      tuple(_round(v, weighted) for v in counts),
                      _round(3 * counts[0] + 2 * counts[1] + counts[2], weighted))
            for (key, code), counts in ranks.items()]
    rows.sort(key=lambda row: (_order(tuple(row.key.values())), -row.score, -row.ranks[0], row.factor))
    return rows


def _round(value: float, weighted: bool):
    return round(value, 2) if weighted else int(value)


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


# -- 5. trends ------------------------------------------------------------------------------

def trends(flt: ReportFilter, by: Sequence[str] = ()) -> list[OutcomeRow]:
    """The outcomes by return cohort (quarter of return) within each wave, with the same intervals."""
    return outcomes(flt, ("quarter", *(name for name in by if name != "quarter")))
