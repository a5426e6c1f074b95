"""`monitor report caseload|response|outcomes|...`: the dashboard's figures on the command line.

Prints exactly the numbers of the page: the same functions (`monitor.reports.tables`), the same
filters. CSV uses `.` for decimals, one header line, no thousands separators.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import date

import click
from flask.cli import with_appcontext

from monitor.reports.filters import FilterError, ReportFilter


def _list(value: tuple[str, ...]) -> tuple[str, ...]:
    """Repeatable options that also take comma-separated values."""
    return tuple(part.strip() for item in value for part in item.split(",") if part.strip())


def _date(_ctx, _param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.command("report")
@click.argument("kind", type=click.Choice(["caseload", "response", "attrition", "modes", "outcomes", "heard", "factors",
                                           "trends"]))
@click.option("--wave", "waves", multiple=True, help="Wave code(s), e.g. m6 (repeat or separate with commas).")
@click.option("--returned-from", callback=_date, help="Return date from (YYYY-MM-DD, inclusive).")
@click.option("--returned-to", callback=_date, help="Return date to (YYYY-MM-DD, inclusive).")
@click.option("--country", "countries", multiple=True, help="Destination country, ISO alpha-2.")
@click.option("--partner", "partners", multiple=True, help="Reintegration partner code (caritas, iom).")
@click.option("--local-partner", "local_partners", multiple=True, help="Local partner code.")
@click.option("--channel", "channels", multiple=True, help="Assigned channel: sms, phone.")
@click.option("--sex", "sexes", multiple=True, help="f, m, x.")
@click.option("--vulnerability", "vulnerabilities", multiple=True, help="Vulnerability category (any of them).")
@click.option("--by", "by", default=None, help="Break down by: wave,channel,country,partner,local_partner,sex,quarter.")
@click.option("--weighted", is_flag=True, help="Counts weighted by base weights 1/π (response, heard, factors).")
@click.option("--publication", is_flag=True, help="Disclosure control: suppress small counts (README, Methods).")
@click.option("--threshold", type=click.IntRange(min=2), default=None,
              help="Suppression threshold (default REPORT_SUPPRESSION_THRESHOLD, 5).")
@click.option("--organisation", help="Only what this organisation's staff may see (its code).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@with_appcontext
def report_command(kind, waves, returned_from, returned_to, countries, partners, local_partners, channels, sexes,
                   vulnerabilities, by, weighted, publication, threshold, organisation, fmt):
    """Print one of the dashboard's reports (see the README, Reports)."""
    from flask import current_app

    flt = ReportFilter(waves=_list(waves), returned_from=returned_from, returned_to=returned_to,
                       countries=tuple(c.upper() for c in _list(countries)), partners=_list(partners),
                       local_partners=_list(local_partners), channels=_list(channels), sexes=_list(sexes),
                       vulnerabilities=_list(vulnerabilities), organisation=organisation)
    threshold = threshold or current_app.config["REPORT_SUPPRESSION_THRESHOLD"]
    try:
        header, rows = build(kind, flt, _list((by,)) if by is not None else None, weighted,
                             threshold if publication else None)
    except FilterError as problem:
        raise click.ClickException(str(problem)) from None
    click.echo(render(header, rows, fmt), nl=False)


def build(kind: str, flt: ReportFilter, by, weighted: bool, threshold: int | None):
    """(header, rows of plain values) of a report, as every format prints it."""
    from monitor.reports import rows as layouts

    return getattr(layouts, kind)(flt, by, weighted, threshold)


def render(header: list[str], rows: list[list], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([dict(zip(header, row)) for row in rows], ensure_ascii=False, indent=1) + "\n"
    if fmt == "csv":
        cells = [[_text(value) for value in row] for row in rows]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(cells)
        return out.getvalue()
    # a table for reading: 4 decimals
    cells = [[_text(round(value, 4) if isinstance(value, float) else value) for value in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) if cells else len(str(h))
              for i, h in enumerate(header)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)).rstrip()]
    for row in cells:
        lines.append("  ".join(value.rjust(w) if _numeric(value) else value.ljust(w)
                               for value, w in zip(row, widths)).rstrip())
    return "\n".join(lines) + "\n"


def _text(value) -> str:
    """CSV and table cells: `.` for decimals, no thousands separators, empty for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same number, "." for decimals
    return str(value)


def _numeric(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return value.startswith("<")
