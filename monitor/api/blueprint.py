"""/api/v1/: the index and one GET per report. Each answers the rows `monitor report KIND
--format json` prints for the same filters (the same function: `monitor.reports.rows`), limited
to the caller's organisation for partner staff."""
from __future__ import annotations

import json

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import RAISE
from monitor.api import schemas
from monitor.api.auth import authenticate, caller, rate_limit_key
from monitor.extensions import csrf, limiter
from monitor.models import ScoringVersion
from monitor.reports.cli import build
from monitor.reports.filters import DIMENSIONS, PARAMETERS, FilterError, ReportFilter

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="The dashboard's reports as JSON.")
csrf.exempt(bp)  # monitor.api.auth.authenticate checks CSRF on a session's writes itself
limiter.shared_limit(lambda: current_app.config["API_RATE_LIMIT"], scope="api", key_func=rate_limit_key)(bp)
bp.before_request(authenticate)

REPORTS = {
    "caseload": ("Completed surveys by destination country and reintegration partner",
                 "Completed surveys (AAPOR 1.1) per destination country (its English name) and reintegration partner "
                 "(one column per partner, by name), then `n.a.` (refusals, break-offs: 2.1x) and `Total`."),
    "response": ("Dispositions and AAPOR response rates",
                 "Closed follow-ups per AAPOR group (I, P, R, NC, O, U, NE) and the rates RR1, RR2, COOP1, CON1, "
                 "REF1, by wave, channel, country and partner (the default `by`); a row with channel `all` for "
                 "each wave, country and partner."),
    "attrition": ("Attrition after the one-month check",
                  "Per later wave: respondents of the one-month check followed up in it, of whom responded again, "
                  "and the attrition."),
    "modes": ("Mode achieved, and the re-migrated",
              "Per wave: complete and partial responses by mode, and follow-ups ended as living abroad again."),
    "outcomes": ("Design-weighted outcomes with 95 % intervals",
                 "Scores (means), red flags and key indicators (shares) per wave, design-weighted, with standard "
                 "errors, 95 % intervals, the unweighted n and the unreliable mark; `by` adds domains (country, "
                 "partner, ...)."),
    "heard": ("How they heard of the programme",
              "Per reporting group and channel: respondents who answered, who named it, who named it first, and the "
              "shares; by country and partner unless `by` says otherwise."),
    "factors": ("Decision factors ranked in the top three",
                "Per factor: how many put it first, second, third, and the score 3/2/1, highest first; by country and "
                "partner unless `by` says otherwise."),
    "trends": ("Outcomes by quarter of return",
               "The outcomes by return cohort (quarter of return) within each wave, with the same intervals."),
}


@bp.route("/", endpoint="index")
@bp.doc(summary="What the API offers and whom the request acts for")
@bp.response(200, schemas.Index)
def index():
    return {
        "reports": [{"name": kind, "url": url_for(f"api.{kind}")} for kind in REPORTS],
        "openapi": url_for("api-docs.openapi_json"),
        "role": current_user.role,
        "scope": _scope(),
        "authenticated_by": "token" if caller().token is not None else "session",
    }


def _scope() -> str | None:
    return current_user.organisation.code if current_user.partner_scoped and current_user.organisation else None


def _split(values) -> tuple[str, ...]:
    """Repeated parameters and comma-separated values alike (as `monitor report` takes them)."""
    return tuple(part.strip() for value in values or () for part in value.split(",") if part.strip())


def read_query(query: dict, user) -> tuple[ReportFilter, dict, tuple[str, ...] | None]:
    """The request's filter (scoped to `user`), the values as given, and `by`; a value the data
    cannot hold is a 400 naming its parameter, not an empty table that looks like an answer."""
    values = {field: _split(query.get(name)) for name, field in PARAMETERS.items()}
    values["countries"] = tuple(c.upper() for c in values["countries"])
    values |= {"returned_from": query.get("returned_from"), "returned_to": query.get("returned_to")}
    flt = ReportFilter.for_user(user, **values)
    by = _split(query["by"]) if query.get("by") is not None else None
    errors = {}
    for name, field in PARAMETERS.items():
        unknown = flt.unknown_values().get(field)
        if unknown and field == "countries":
            errors[name] = [_("Not an ISO 3166-1 alpha-2 country code: %(values)s.", values=", ".join(unknown))]
        elif unknown:
            errors[name] = [_("Unknown: %(values)s.", values=", ".join(unknown))]
    dimensions = [name for name in by or () if name not in DIMENSIONS]
    if dimensions:
        errors["by"] = [_("Cannot break down by %(values)s (known: %(known)s).", values=", ".join(dimensions),
                          known=", ".join(DIMENSIONS))]
    if query.get("returned_from") and query.get("returned_to") and query["returned_from"] > query["returned_to"]:
        errors["returned_to"] = [_("The return period ends before it starts.")]
    if errors:
        abort(400, message=_("The filters are not valid: see errors."), errors=errors)
    return flt, values, by


def _echo(values: dict) -> dict:
    """The filters given, as the answer repeats them (by the parameters' names)."""
    echoed = {name: list(values[field]) for name, field in PARAMETERS.items() if values[field]}
    return echoed | {name: values[name].isoformat() for name in ("returned_from", "returned_to") if values[name]}


def report(kind: str, query: dict):
    user = current_user
    if user.partner_scoped and user.organisation is None:
        abort(403, message=_("Your account belongs to no organisation: there are no figures for it to see."))
    flt, values, by = read_query(query, user)
    threshold = current_app.config["REPORT_SUPPRESSION_THRESHOLD"] if query["publication"] else None
    try:
        header, rows = build(kind, flt, by, query["weighted"], threshold)
    except FilterError as problem:
        abort(400, message=str(problem))
    payload = {
        "report": kind, "columns": header, "rows": [dict(zip(header, row)) for row in rows],
        "filters": _echo(values), "by": list(by) if by is not None else None, "weighted": query["weighted"],
        "publication": query["publication"], "threshold": threshold, "scope": _scope(),
        "scoring_version": ScoringVersion.active_number(),
    }
    # json.dumps as `monitor report --format json` writes it (keys in the columns' order)
    return current_app.response_class(json.dumps(payload, ensure_ascii=False), mimetype="application/json")


def _add_report_route(kind: str) -> None:
    summary, description = REPORTS[kind]

    def view(query):
        return report(kind, query)

    view.__name__ = view.__qualname__ = kind
    view = bp.response(200, schemas.report_schema(kind))(view)
    view = bp.alt_response(400, schema=schemas.ErrorSchema, description="A filter or breakdown that is not valid")(view)
    view = bp.arguments(schemas.ReportQuery, location="query", error_status_code=400, unknown=RAISE)(view)
    view = bp.doc(summary=summary, description=description)(view)
    bp.route(f"/reports/{kind}", endpoint=kind, methods=["GET"])(view)


for _kind in REPORTS:
    _add_report_route(_kind)
