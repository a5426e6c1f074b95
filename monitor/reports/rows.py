"""Each report as (header, rows of plain values): what `monitor report` prints in every format,
with disclosure control applied when a threshold is given (`--publication`)."""
from __future__ import annotations

from monitor.reports import suppression, tables
from monitor.reports.filters import ReportFilter


def caseload(flt: ReportFilter, by, weighted: bool, threshold: int | None):
    table = tables.caseload(flt)
    header = ["country", *table.partners, "Total"]
    rows = [[row.label, *row.cells, row.total] for row in table.rows]
    if threshold:
        rows = suppression.suppress_table(rows, threshold, label_columns=1)
    return header, rows


def response(flt: ReportFilter, by, weighted: bool, threshold: int | None):
    found = tables.response(flt, by or tables.RESPONSE_BY, weighted)
    header = ["wave", "channel", "country", "partner", *tables.CATEGORIES, *tables.RATES]
    rows = [[r.wave, r.channel, r.country, r.partner, *(r.counts[c] for c in tables.CATEGORIES),
             *(r.rates[rate] for rate in tables.RATES)] for r in found]
    if threshold:
        counts = list(range(4, 4 + len(tables.CATEGORIES)))
        c = dict(zip(tables.CATEGORIES, counts))
        eligible = [c[k] for k in ("I", "P", "R", "NC", "O", "U")]
        cooperating = [c[k] for k in ("I", "P", "R", "O")]
        first_rate = 4 + len(tables.CATEGORIES)
        rates = dict(zip(range(first_rate, first_rate + len(tables.RATES)), [
            ([c["I"]], eligible), ([c["I"], c["P"]], eligible), ([c["I"]], cooperating), (cooperating, eligible),
            ([c["R"]], eligible)]))
        rows = suppression.suppress_grouped(rows, threshold, group_of=lambda row: (row[0], row[2], row[3]),
                                            is_total=lambda row: row[1] == tables.ALL, count_columns=counts,
                                            rates=rates)
    return header, rows


def attrition(flt: ReportFilter, by, weighted: bool, threshold: int | None):
    header = ["wave", "followed_up", "responded", "attrition"]
    rows = [[r.wave, r.followed_up, r.responded, r.attrition] for r in tables.attrition(flt)]
    if threshold:
        rows = [suppression.suppress_counts(row, threshold, counts=(1, 2), rates={3: 2}, denominators={3: 1})
                for row in rows]
    return header, rows


def modes(flt: ReportFilter, by, weighted: bool, threshold: int | None):
    header = ["wave", *tables.MODES, "living_abroad_again"]
    rows = [[r.wave, *(r.modes[m] for m in tables.MODES), r.living_abroad] for r in tables.modes(flt)]
    if threshold:
        rows = [suppression.suppress_counts(row, threshold, counts=range(1, len(header))) for row in rows]
    return header, rows


def outcomes(flt: ReportFilter, by, weighted: bool, threshold: int | None):
    by = tuple(by or ())
    found = tables.outcomes(flt, by)
    extra = [name for name in by if name not in ("wave", "country", "partner")]
    header = ["wave", "country", "partner", *extra, "indicator", "n", "estimate", "se", "ci_low", "ci_high",
              "unreliable"]
    rows = []
    for row in found:
        r = row.result
        rows.append([row.wave, row.key.get("country", tables.ALL), row.key.get("partner", tables.ALL),
                     *(row.key.get(name, tables.ALL) for name in extra), row.indicator, r.n, r.estimate, r.se,
                     r.ci_low, r.ci_high, r.unreliable])
    if threshold:
        rows = [suppression.suppress_statistic(row, threshold, n_column=len(header) - 6) for row in rows]
    return header, rows


def heard(flt: ReportFilter, by, weighted: bool, threshold: int | None):
    by = tuple(by) if by is not None else ("country", "partner")
    header = [*by, "group", "channel", "answered", "every", "every_share", "first", "first_share"]
    rows = [[*(r.key[name] for name in by), r.group, r.channel, r.answered, r.every, r.every_share, r.first,
             r.first_share] for r in tables.heard(flt, by, weighted)]
    if threshold:
        k = len(by) + 1
        rows = [suppression.suppress_counts(row, threshold, counts=(k + 1, k + 2, k + 4),
                                            rates={k + 3: k + 2, k + 5: k + 4},
                                            denominators={k + 3: k + 1, k + 5: k + 1})
                for row in rows]
    return header, rows


def factors(flt: ReportFilter, by, weighted: bool, threshold: int | None):
    by = tuple(by) if by is not None else ("country", "partner")
    header = [*by, "factor", "group", "rank1", "rank2", "rank3", "score"]
    rows = [[*(r.key[name] for name in by), r.factor, r.group, *r.ranks, r.score]
            for r in tables.factors(flt, by, weighted)]
    if threshold:
        k = len(by)
        rows = [_hide_score(suppression.suppress_counts(row, threshold, counts=(k + 2, k + 3, k + 4)), k, threshold)
                for row in rows]
    return header, rows


def _hide_score(row: list, k: int, threshold: int) -> list:
    """The score is recomputable from its ranks: hidden when one of them is."""
    if any(isinstance(row[c], str) for c in (k + 2, k + 3, k + 4)):
        row[k + 5] = suppression.mark(threshold)
    return row


def trends(flt: ReportFilter, by, weighted: bool, threshold: int | None):
    by = tuple(name for name in (by or ()) if name != "quarter")
    found = tables.trends(flt, by)
    header = ["wave", "quarter", *by, "indicator", "n", "estimate", "se", "ci_low", "ci_high", "unreliable"]
    rows = [[row.wave, row.key["quarter"], *(row.key[name] for name in by), row.indicator, row.result.n,
             row.result.estimate, row.result.se, row.result.ci_low, row.result.ci_high, row.result.unreliable]
            for row in found]
    if threshold:
        rows = [suppression.suppress_statistic(row, threshold, n_column=len(header) - 6) for row in rows]
    return header, rows
