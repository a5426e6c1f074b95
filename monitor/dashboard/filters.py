"""The dashboard's filters: the query string read into a `ReportFilter`, every value checked
against what the user may choose, so a bookmarked or hand-edited address gets a clear message
instead of an error page. Partner staff's filter is always scoped to their organisation."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from monitor import codes
from monitor.access import scope_to_user, visible_organisations
from monitor.dashboard.labels import country_label
from monitor.extensions import db
from monitor.followups.waves import all_waves, describe
from monitor.models import Returnee
from monitor.reports.filters import PARAMETERS, FilterError, ReportFilter

DATES = {"returned_from": "returned_from", "returned_to": "returned_to"}
_MAX_VALUES = 50  # per parameter: more than any real choice, fewer than an abuse needs


@dataclass
class Choices:
    """What the form offers, each as (value, label)."""

    wave: list[tuple[str, str]] = field(default_factory=list)
    country: list[tuple[str, str]] = field(default_factory=list)
    partner: list[tuple[str, str]] = field(default_factory=list)
    local_partner: list[tuple[str, str]] = field(default_factory=list)
    channel: list[tuple[str, str]] = field(default_factory=list)
    sex: list[tuple[str, str]] = field(default_factory=list)
    vulnerability: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class DashboardQuery:
    """The request's view: its filter, the publication switch, what the form shows and what was wrong."""

    filter: ReportFilter | None
    publication: bool
    threshold: int | None  # the suppression threshold when publishing
    choices: Choices
    chosen: dict[str, list[str]]  # parameter -> values as given (the form shows them again)
    errors: list[str]

    def args(self) -> dict[str, list[str]]:
        """The query string of this view (for the CSV links)."""
        found = {name: values for name, values in self.chosen.items() if values}
        if self.publication:
            found["publication"] = ["1"]
        return found


def choices_for(user) -> Choices:
    countries = db.session.scalars(scope_to_user(select(Returnee.destination_country), user)
                                   .where(Returnee.destination_country.is_not(None)).distinct()).all()
    organisations = db.session.scalars(visible_organisations(user)).all()
    return Choices(
        wave=[(w.code, describe(w)) for w in all_waves()],
        country=sorted(((c, country_label(c)) for c in countries), key=lambda pair: pair[1]),
        partner=[(o.code, o.name) for o in organisations if o.is_reintegration_partner],
        local_partner=[(o.code, o.name) for o in organisations if not o.is_reintegration_partner],
        channel=[(c, str(codes.CHANNELS[c])) for c in ("sms", "phone")],
        sex=[(k, str(v)) for k, v in codes.SEXES.items()],
        vulnerability=[(k, str(v)) for k, v in codes.VULNERABILITIES.items()],
    )


def read_query(args, user) -> DashboardQuery:
    """The filter of a request's query string (`args`, a MultiDict) for `user`."""
    choices = choices_for(user)
    errors: list[str] = []
    chosen: dict[str, list[str]] = {}
    values: dict = {}
    names = {"wave": _("wave"), "country": _("country"), "partner": _("partner"), "local_partner": _("local partner"),
             "channel": _("channel"), "sex": _("sex"), "vulnerability": _("vulnerability")}
    for name, target in PARAMETERS.items():  # each repeatable: ?country=GE&country=AM
        given = [v.strip() for v in args.getlist(name) if v.strip()][:_MAX_VALUES]
        if name == "country":
            given = [v.upper() for v in given]
        chosen[name] = given
        allowed = {value for value, _label in getattr(choices, name)}
        unknown = [v for v in given if v not in allowed]
        if unknown:
            errors.append(_("There is no %(what)s “%(value)s” to choose.", what=names[name], value=unknown[0][:40]))
        values[target] = tuple(v for v in given if v in allowed)
    for name, target in DATES.items():
        text = args.get(name, "").strip()
        chosen[name] = [text] if text else []
        if text:
            try:
                values[target] = date.fromisoformat(text[:10]) if len(text) == 10 else _bad_date()
            except ValueError:
                errors.append(_("“%(value)s” is not a date: write it as year-month-day, for example 2026-03-01.",
                                value=text[:40]))
    if values.get("returned_from") and values.get("returned_to") and values["returned_from"] > values["returned_to"]:
        errors.append(_("The return period ends before it starts."))
    publication = args.get("publication", "") in ("1", "on", "true")
    threshold = current_app.config["REPORT_SUPPRESSION_THRESHOLD"] if publication else None
    flt = None
    if not errors:
        try:
            flt = ReportFilter.for_user(user, **values)
        except FilterError:
            errors.append(_("Your account is not linked to an organisation, so there are no figures to show."))
    return DashboardQuery(flt, publication, threshold, choices, chosen, errors)


def _bad_date():
    raise ValueError
