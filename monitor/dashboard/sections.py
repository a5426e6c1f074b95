"""The dashboard's sections: each is one report of `monitor.reports.rows` (the rows `monitor
report` prints, suppressed when publishing), shown as a table, drawn as a Plotly figure (plain
dicts, rendered by static/js/dashboard.js) and downloadable as CSV. Nothing is computed here:
rows are only chosen, labelled and formatted."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from monitor import formatting
from monitor.dashboard import labels
from monitor.reports import rows as layouts
from monitor.reports import tables
from monitor.reports.aggregates import SCORES
from monitor.exports.files import neutralise
from monitor.reports.cli import _text

PERCENT = {"RR1", "RR2", "COOP1", "CON1", "REF1", "every_share", "first_share", "attrition"}
ESTIMATE = {"estimate", "se", "ci_low", "ci_high"}
COLOURS = ["#1f5fa8", "#d9822b", "#3a8a4f", "#8e44ad", "#b03a48", "#5d6d7e"]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    kind: str  # the report: monitor.reports.rows.<kind>
    by: tuple[str, ...] | None
    intro: str
    chart: Callable
    keep: Callable[[dict], bool] | None = None  # the report's rows this section shows
    values: dict | None = None  # code columns named otherwise than labels.VALUES says

    def report(self, flt, threshold: int | None) -> tuple[list[str], list[list]]:
        """(header, rows) exactly as `monitor report KIND --by BY [--publication]` prints them."""
        header, rows = getattr(layouts, self.kind)(flt, self.by, False, threshold)
        if self.keep is not None:
            rows = [row for row in rows if self.keep(dict(zip(header, row)))]
        return header, rows


# -- the table ------------------------------------------------------------------------------------

def _shown(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def cell(name: str, value, namer=None) -> tuple[str, bool]:
    """(text, is a number) of one cell as the page shows it, in the staff language."""
    if value is None:
        return formatting.EMPTY, True
    if isinstance(value, bool):
        return (_("Unreliable") if value else ""), False
    if isinstance(value, str):
        if value.startswith("<") or value == "x":  # suppressed for publication
            return value, True
        return (namer(value) if namer else value), False
    if name in PERCENT:
        return formatting.percent(value, 1), True
    if name in ESTIMATE:
        return formatting.number(value, 3), True
    if isinstance(value, float):
        return formatting.number(value, 2), True
    return formatting.number(value), True


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[list[tuple[str, bool]], bool]]  # (cells, unreliable)
    unreliable: int  # how many rows are


def table(section: Section, header: list[str], rows: list[list]) -> Table:
    names = labels.headers()
    namers = {**labels.VALUES, **(section.values or {})}
    if section.kind == "caseload":
        namers = {"country": labels.caseload_label}
    shown, unreliable = [], 0
    for row in rows:
        flagged = "unreliable" in header and row[header.index("unreliable")] is True
        unreliable += flagged
        shown.append(([cell(name, value, namers.get(name)) for name, value in zip(header, row)], flagged))
    return Table([names.get(name, name) for name in header], shown, unreliable)


# -- the CSV --------------------------------------------------------------------------------------

def csv_text(header: list[str], rows: list[list], note: str | None = None) -> str:
    """The report's CSV (`monitor report --format csv`): `.` for decimals, one header line; a
    closing `#` line says when the figures are suppressed for publication."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([neutralise(name) for name in header])
    writer.writerows([[_text(neutralise(value)) for value in row] for row in rows])
    if note:
        out.write(f"# {note}\n")
    return out.getvalue()


# -- the charts -----------------------------------------------------------------------------------

def _number(value):
    return value if _shown(value) else None  # suppressed or missing: no bar, no point


def _layout(**extra) -> dict:
    layout = {"barmode": "group", "height": 380, "margin": {"l": 60, "r": 20, "t": 40, "b": 90},
              "legend": {"orientation": "h", "y": -0.25}, "font": {"family": "system-ui, sans-serif", "size": 12},
              "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff"}
    layout.update(extra)
    return layout


def _by_partner(rows: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for row in rows:
        found.setdefault(row["partner"], []).append(row)
    return found


def _interval(rows: list[dict]) -> dict:
    """Error bars from the 95 % intervals (none where an interval is not given or suppressed)."""
    upper = [(r["ci_high"] - r["estimate"]) if _shown(r["ci_high"]) and _shown(r["estimate"]) else None for r in rows]
    lower = [(r["estimate"] - r["ci_low"]) if _shown(r["ci_low"]) and _shown(r["estimate"]) else None for r in rows]
    return {"type": "data", "array": upper, "arrayminus": lower, "visible": True, "color": "#333333", "thickness": 1.2}


def faded(colour: str) -> str:
    """An unreliable estimate's colour: its partner's, greyed (mixed with light grey), so the
    partners stay apart."""
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c * 0.3 + 0xd0 * 0.7):02x}" for c in (red, green, blue))


def _colours(rows: list[dict], colour: str) -> list[str]:
    return [faded(colour) if r.get("unreliable") is True else colour for r in rows]


def _hover(rows: list[dict]) -> list[str]:
    return [_("Unreliable estimate") if r.get("unreliable") is True else "" for r in rows]


def caseload_chart(header, rows) -> list[dict]:
    partners = header[1:-1]
    body = [row for row in rows if row[0] not in ("n.a.", "Total")]
    if not any(_shown(value) and value > 0 for row in body for value in row[1:-1]):
        return []  # nothing to draw: an empty frame of axes says nothing the table does not
    x = [labels.caseload_label(row[0]) for row in body]
    data = [{"type": "bar", "name": name, "x": x, "y": [_number(row[1 + i]) for row in body],
             "marker": {"color": COLOURS[i % len(COLOURS)]}} for i, name in enumerate(partners)]
    return [{"data": data, "layout": _layout(barmode="stack", title={"text": _("Completed surveys by country")},
                                             yaxis={"title": {"text": _("Completed surveys")}})}]


def response_chart(header, rows) -> list[dict]:
    found = [dict(zip(header, row)) for row in rows if row[header.index("channel")] == tables.ALL]
    data = []
    for i, (partner, members) in enumerate(_by_partner(found).items()):
        data.append({"type": "bar", "name": labels.VALUES["partner"](partner),
                     "x": [labels.VALUES["wave"](r["wave"]) for r in members],
                     "y": [_number(r["RR1"]) for r in members], "marker": {"color": COLOURS[i % len(COLOURS)]}})
    return [{"data": data, "layout": _layout(title={"text": _("Response rate (RR1) by wave")},
                                             yaxis={"tickformat": ".0%", "range": [0, 1]})}]


def outcomes_chart(header, rows) -> list[dict]:
    """Per wave: each country's three dimensions (and the composite) side by side, one bar per
    partner, with the 95 % interval drawn; unreliable estimates grey."""
    figures = []
    found = [dict(zip(header, row)) for row in rows]
    for wave in dict.fromkeys(r["wave"] for r in found):
        data = []
        for i, (partner, members) in enumerate(_by_partner([r for r in found if r["wave"] == wave]).items()):
            colour = COLOURS[i % len(COLOURS)]
            data.append({"type": "bar", "name": labels.VALUES["partner"](partner),
                         "x": [[labels.VALUES["country"](r["country"]) for r in members],
                               [labels.indicator_label(r["indicator"]) for r in members]],
                         "y": [_number(r["estimate"]) for r in members], "error_y": _interval(members),
                         "marker": {"color": _colours(members, colour)}, "hovertext": _hover(members)})
        figures.append({"data": data, "layout": _layout(
            title={"text": _("Outcome scores, %(wave)s (0 to 1, with 95 %% intervals)",
                             wave=labels.VALUES["wave"](wave))},
            yaxis={"range": [0, 1]})})
    return figures


def trends_chart(header, rows) -> list[dict]:
    found = [dict(zip(header, row)) for row in rows]
    data = []
    series: dict[tuple, list[dict]] = {}
    for r in found:
        series.setdefault((r["wave"], r["indicator"]), []).append(r)
    for i, ((wave, indicator), members) in enumerate(series.items()):
        colour = COLOURS[list(SCORES).index(indicator) % len(COLOURS)] if indicator in SCORES else COLOURS[0]
        data.append({"type": "scatter", "mode": "lines+markers",
                     "name": f"{labels.VALUES['wave'](wave)} · {labels.indicator_label(indicator)}",
                     "x": [labels.quarter_label(r["quarter"]) for r in members],
                     "y": [_number(r["estimate"]) for r in members], "error_y": _interval(members),
                     "line": {"color": colour}, "marker": {"color": _colours(members, colour), "size": 8},
                     "hovertext": _hover(members)})
    return [{"data": data, "layout": _layout(title={"text": _("Outcome scores by quarter of return")},
                                             yaxis={"range": [0, 1]})}]


def heard_chart(header, rows) -> list[dict]:
    found = [dict(zip(header, row)) for row in rows if row[header.index("channel")] == tables.ALL]
    data = []
    for i, (partner, members) in enumerate(_by_partner(found).items()):
        data.append({"type": "bar", "orientation": "h", "name": labels.VALUES["partner"](partner),
                     "y": [labels.group_label(r["group"]) for r in members],
                     "x": [_number(r["every_share"]) for r in members], "marker": {"color": COLOURS[i % len(COLOURS)]}})
    return [{"data": data, "layout": _layout(title={"text": _("How they heard of the programme")},
                                             xaxis={"tickformat": ".0%"}, yaxis={"automargin": True},
                                             margin={"l": 20, "r": 20, "t": 40, "b": 90})}]


def factors_chart(header, rows) -> list[dict]:
    found = [dict(zip(header, row)) for row in rows]
    data = []
    for i, (partner, members) in enumerate(_by_partner(found).items()):
        data.append({"type": "bar", "orientation": "h", "name": labels.VALUES["partner"](partner),
                     "y": [labels.factor_label(r["factor"]) for r in members],
                     "x": [_number(r["score"]) for r in members], "marker": {"color": COLOURS[i % len(COLOURS)]}})
    return [{"data": data, "layout": _layout(title={"text": _("Decision factors (score 3-2-1)")},
                                             yaxis={"automargin": True, "autorange": "reversed"},
                                             margin={"l": 20, "r": 20, "t": 40, "b": 90})}]


def _scores_only(row: dict) -> bool:
    return row["indicator"] in SCORES


SECTIONS = [
    Section("caseload", _l("Caseload"), "caseload", None,
            _l("Completed surveys by destination country and reintegration partner; the follow-ups that ended as "
               "refusals or break-offs in a row of their own."), caseload_chart),
    Section("response", _l("Response"), "response", ("wave", "channel", "partner"),
            _l("Closed follow-ups by AAPOR outcome and the response rates, by wave, assigned channel and partner."),
            response_chart),
    Section("outcomes", _l("Outcomes"), "outcomes", ("country", "partner"),
            _l("Design-weighted mean scores (0 to 1) of the three dimensions and the composite, by wave, country and "
               "partner, with their intervals (95 %)."), outcomes_chart, keep=_scores_only),
    Section("heard", _l("How they heard"), "heard", ("partner",),
            _l("How respondents heard of the programme, per group of channels and per channel; shares of those who "
               "answered (several channels may be named)."), heard_chart, values={"channel": labels.heard_label}),
    Section("factors", _l("Decision factors"), "factors", ("partner",),
            _l("Why they decided to return: how often each factor was ranked first, second and third."),
            factors_chart),
    Section("trends", _l("Trends"), "trends", (),
            _l("The outcome scores by quarter of return within each wave, with their intervals (95 %)."), trends_chart,
            keep=_scores_only),
]
BY_KEY = {section.key: section for section in SECTIONS}
