"""Codes of the reports as the staff member reads them: countries, partners, waves, indicators,
channels and groups named in the staff language (labels only: the figures are never touched)."""
from __future__ import annotations

from babel import Locale
from flask import g
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from monitor import codes
from monitor.extensions import db
from monitor.followups.waves import wave_name
from monitor.models import Organisation
from monitor.reports import tables
from surveys import registry
from surveys.translation import translator

_ENGLISH_NAMES = {name: code for code, name in Locale("en").territories.items() if len(code) == 2}


def country_label(alpha2: str | None) -> str:
    if not alpha2:
        return "—"
    return Locale.parse(str(get_locale())).territories.get(alpha2, alpha2)


def caseload_label(english_name: str) -> str:
    """The caseload's row labels are English country names (as `monitor report` prints them)."""
    if english_name == "n.a.":
        return _("Not completed (refusals, break-offs)")
    if english_name == "Total":
        return _("Total")
    code = _ENGLISH_NAMES.get(english_name)
    return country_label(code) if code else english_name


def organisation_label(code: str) -> str:
    names = g.get("_dashboard_org_names")
    if names is None:
        names = g._dashboard_org_names = dict(db.session.execute(select(Organisation.code, Organisation.name)).all())
    return names.get(code, code)


def _questionnaire_labels() -> dict[str, dict[str, str]]:
    """Labels the questionnaire defines (and translates): indicators, flags, groups, options."""
    found = g.get("_dashboard_q_labels")
    if found is None:
        t = translator(str(get_locale()))
        q = registry.current()
        found = {
            "indicator": {**{f.code: t(f.label) for f in q.flags}, **{i.code: t(i.label) for i in q.indicators},
                          **{k: str(v) for k, v in codes.SCORE_DIMENSIONS.items()}},
            "group": {code: t(label) for code, label in q.groups.items()},
            "heard": {o.code: t(o.label) for o in q.item(tables.HEARD_ITEM).options},
            "factor": {o.code: t(o.label) for o in q.item(tables.FACTORS_ITEM).options},
        }
        g._dashboard_q_labels = found
    return found


def indicator_label(code: str) -> str:
    return _questionnaire_labels()["indicator"].get(code, code)


def group_label(code: str) -> str:
    return _questionnaire_labels()["group"].get(code, code)


def heard_label(code: str) -> str:
    if code == tables.ALL:
        return _("All channels of the group")
    return _questionnaire_labels()["heard"].get(code, code)


def factor_label(code: str) -> str:
    return _questionnaire_labels()["factor"].get(code, code)


def channel_label(code: str) -> str:
    if code == tables.ALL:
        return _("All channels")
    return str(codes.CHANNELS.get(code, code))


def quarter_label(code: str) -> str:
    year, _sep, quarter = code.partition("-Q")
    return _("Q%(quarter)s %(year)s", quarter=quarter, year=year) if quarter else code


def all_or(label):
    def named(code: str) -> str:
        return _("All") if code == tables.ALL else label(code)
    return named


# The report's code columns and how each is named on the page.
VALUES = {
    "wave": all_or(wave_name),
    "country": all_or(country_label),
    "partner": all_or(organisation_label),
    "local_partner": all_or(organisation_label),
    "channel": channel_label,
    "sex": all_or(lambda code: str(codes.SEXES.get(code, code))),
    "quarter": all_or(quarter_label),
    "indicator": indicator_label,
    "group": group_label,
    "factor": factor_label,
}


def headers() -> dict[str, str]:
    """Column names of the reports (the CSV keeps the report's own)."""
    return {
        "country": _("Country"), "Total": _("Total"), "wave": _("Wave"), "channel": _("Channel"),
        "partner": _("Partner"), "local_partner": _("Local partner"), "sex": _("Sex"), "quarter": _("Return quarter"),
        "indicator": _("Outcome"), "n": _("Respondents"), "estimate": _("Estimate"), "se": _("Standard error"),
        "ci_low": _("Interval (95 %) from"), "ci_high": _("to"), "unreliable": _("Reliability"),
        "group": _("Group"), "answered": _("Answered"), "every": _("Named it"), "every_share": _("Share"),
        "first": _("Named it first"), "first_share": _("Share first"), "factor": _("Decision factor"),
        "rank1": _("Ranked 1st"), "rank2": _("Ranked 2nd"), "rank3": _("Ranked 3rd"), "score": _("Score (3-2-1)"),
        "I": _("Complete"), "P": _("Partial"), "R": _("Refusal, break-off"), "NC": _("Not contacted"),
        "O": _("Other"), "U": _("Eligibility unknown"), "NE": _("Not eligible"),
        "RR1": _("Response rate (RR1)"), "RR2": _("Response rate with partials (RR2)"),
        "COOP1": _("Cooperation rate (COOP1)"), "CON1": _("Contact rate (CON1)"), "REF1": _("Refusal rate (REF1)"),
    }
