"""The dashboard page (/dashboard/), its CSV downloads and plotly.js, served by the app itself."""
from __future__ import annotations

from pathlib import Path

import plotly
from flask import abort, current_app, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from monitor.access import require
from monitor.dashboard.filters import read_query
from monitor.dashboard.sections import BY_KEY, SECTIONS, csv_text, table
from monitor.extensions import db
from monitor.models import FollowUp, Returnee, ScoringVersion
from monitor.models.types import utcnow

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@require("reports.read")
def index():
    query = read_query(request.args, current_user)
    shown = []
    if not query.errors:
        for section in SECTIONS:
            header, rows = section.report(query.filter, query.threshold)
            charts = section.chart(header, rows)
            shown.append({"section": section, "table": table(section, header, rows), "charts": charts,
                          "csv": url_for("dashboard.download", section=section.key, **query.args())})
    version = db.session.get(ScoringVersion, ScoringVersion.active_number()) if ScoringVersion.active_number() else None
    # Nothing has come back yet and nothing is filtered: the page says what comes first instead
    # of six empty sections.
    first_start = bool(shown) and not any(query.chosen.values()) and not any(
        item["table"].rows for item in shown[1:]) and not _any_count(shown[0]["table"])
    page = render_template("dashboard/index.html", query=query, shown=shown, scoring=version,
                           first_start=_first_steps() if first_start else None,
                           data_date=_data_date(query.filter) if query.filter else None,
                           exports=("exports.index" in current_app.view_functions))
    return page, (400 if query.errors else 200)


def _any_count(table) -> bool:
    return any(numeric and text not in ("0", "") for cells, _unreliable in table.rows for text, numeric in cells)


def _first_steps() -> dict[str, int]:
    """What is in place so far, for the first start's checklist (admins only)."""
    from monitor.access import can
    from monitor.models import Organisation, User

    if not can(current_user, "organisations.manage"):
        return {}
    count = lambda statement: db.session.scalar(statement) or 0  # noqa: E731
    return {"local_partners": count(select(func.count()).select_from(Organisation).where(Organisation.kind == "local")),
            "users": count(select(func.count()).select_from(User)),
            "returnees": count(select(func.count()).select_from(Returnee))}


def _data_date(flt):
    """The date of the data: the latest follow-up closed among those the figures read, or now."""
    latest = db.session.scalar(select(func.max(FollowUp.closed_at)).select_from(FollowUp)
                               .join(Returnee, Returnee.id == FollowUp.returnee_id).where(*flt.where_clauses()))
    return latest or utcnow()


@require("reports.read")
def download(section: str):
    """One section's table as CSV, with the page's filters (and suppression when publishing)."""
    found = BY_KEY.get(section)
    if found is None:
        abort(404)
    query = read_query(request.args, current_user)
    if query.errors:
        return "\n".join(query.errors) + "\n", 400, {"Content-Type": "text/plain; charset=utf-8"}
    header, rows = found.report(query.filter, query.threshold)
    note = publication_note(query.threshold) if query.publication else None
    name = f"{section}-publication.csv" if query.publication else f"{section}.csv"
    return csv_text(header, rows, note), 200, {
        "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": f'attachment; filename="{name}"'}


def publication_note(threshold: int) -> str:
    return _("For publication: counts from 1 to %(below)d and estimates from fewer than %(threshold)d respondents "
             "are shown as <%(threshold)d, and cells from which they could be worked out as x.",
             below=threshold - 1, threshold=threshold)


def plotly_js():
    """plotly.js from the plotly package (no CDN), cached by the browser for a day."""
    return send_file(PLOTLY_JS, mimetype="text/javascript", max_age=86400)
