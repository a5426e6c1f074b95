"""What the API takes and gives, as marshmallow schemas: flask-smorest reads the query from
`ReportQuery` and writes the OpenAPI document from all of them. The report rows are written by
`monitor.reports.rows` (the very rows `monitor report --format json` prints); their schemas here
document them."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest.error_handler import ErrorSchema  # noqa: F401  (the error answers' shape)
from marshmallow import fields

from monitor import codes
from monitor.reports.filters import DIMENSIONS

CHANNELS = ("sms", "phone")  # a follow-up's assigned channel


def _list(description: str, enum=None):
    items = fields.String(metadata={"enum": list(enum)} if enum else {})
    return fields.List(items, metadata={"description": description + " Repeat the parameter, or separate values "
                                                                      "with commas."})


class ReportQuery(ma.Schema):
    """The filters, the breakdown, weighting and disclosure control of `monitor report`."""

    wave = _list("Wave code(s), e.g. m6.")
    returned_from = fields.Date(metadata={"description": "Return date from (YYYY-MM-DD, inclusive)."})
    returned_to = fields.Date(metadata={"description": "Return date to (YYYY-MM-DD, inclusive)."})
    country = _list("Destination country, ISO 3166-1 alpha-2 (GE).")
    partner = _list("Reintegration partner code (caritas, iom).")
    local_partner = _list("Local partner code (caritas-ge).")
    channel = _list("The follow-up's assigned channel.", CHANNELS)
    sex = _list("Sex of the returnee.", codes.SEXES)
    vulnerability = _list("Vulnerability category: a returnee with any of those given.", codes.VULNERABILITIES)
    by = _list("Dimensions to break the figures down by (absent: the report's default breakdown; empty: "
               "none). A column not named is `all`.", DIMENSIONS)
    weighted = fields.Boolean(load_default=False, metadata={
        "description": "Counts weighted by base weights 1/π (response, heard, factors), with 2 decimals."})
    publication = fields.Boolean(load_default=False, metadata={
        "description": "Disclosure control for publication: small counts and statistics from few respondents "
                       "are shown as `<5` (the configured threshold), cells hidden so that they cannot be "
                       "recomputed as `x`."})


# -- the reports' rows ---------------------------------------------------------------------

def figure(description: str, *, nullable: bool = False, integer: bool = False, data_key: str | None = None):
    """A count, rate or statistic: a number, or under `publication` the string `<5` or `x`."""
    kinds = ["integer" if integer else "number", "string"] + (["null"] if nullable else [])
    return fields.Raw(data_key=data_key, metadata={"type": kinds, "description": description})


def label(description: str):
    return fields.String(metadata={"description": description})


class _Breakdown(ma.Schema):
    """The columns a row carries for the dimensions `by` names."""

    wave = label("Wave code. Present when broken down by it.")
    channel = label("Assigned channel. Present when broken down by it.")
    country = label("Destination country, ISO alpha-2. Present when broken down by it.")
    partner = label("Reintegration partner code. Present when broken down by it.")
    local_partner = label("Local partner code. Present when broken down by it.")
    sex = label("Sex. Present when broken down by it.")
    quarter = label("Quarter of return, 2026-Q3. Present when broken down by it.")


class CaseloadRow(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE  # one column per reintegration partner, by name

    country = label("The destination country's English name, then `n.a.` (refusals, break-offs) and `Total`.")
    Total = figure("Completed surveys over every partner column.", integer=True)


class ResponseRow(ma.Schema):
    wave = label("Wave code, or `all`.")
    channel = label("Assigned channel, or `all` (the channels of the row's wave, country and partner together).")
    country = label("Destination country, or `all`.")
    partner = label("Reintegration partner code, or `all`.")
    I = figure("Complete responses (AAPOR 1.1).")  # noqa: E741
    P = figure("Partial responses (1.2).")
    R = figure("Refusals and break-offs (2.1x).")
    NC = figure("Non-contacts (2.2x).")
    O = figure("Other eligible non-responses (2.3x).")  # noqa: E741
    U = figure("Unknown eligibility (3.x).")
    NE = figure("Not eligible (4.x).")
    RR1 = figure("Response rate 1, 4 decimals; null when its denominator is 0.", nullable=True)
    RR2 = figure("Response rate 2.", nullable=True)
    COOP1 = figure("Cooperation rate 1.", nullable=True)
    CON1 = figure("Contact rate 1.", nullable=True)
    REF1 = figure("Refusal rate 1.", nullable=True)


class AttritionRow(ma.Schema):
    wave = label("A wave after the one-month check.")
    followed_up = figure("Respondents of the one-month check with a closed, eligible follow-up in this wave.",
                         integer=True)
    responded = figure("Of whom responded again.", integer=True)
    attrition = figure("1 − responded / followed_up, 4 decimals.", nullable=True)


class ModesRow(ma.Schema):
    wave = label("Wave code.")
    sms_web = figure("Complete and partial responses by SMS link.", integer=True, data_key="sms-web")
    phone = figure("By phone interview.", integer=True)
    visit = figure("By visit.", integer=True)
    import_ = figure("Imported.", integer=True, data_key="import")
    living_abroad_again = figure("Follow-ups ended as living abroad again (2.361).", integer=True)


class _Estimate(ma.Schema):
    indicator = label("`economic`, `social`, `psychosocial`, `composite` (scores, means 0..1), a red flag code or "
                      "a key indicator code (shares).")
    n = figure("Respondents (unweighted).", integer=True)
    estimate = figure("Design-weighted mean or share.", nullable=True)
    se = figure("Standard error (linearisation).", nullable=True)
    ci_low = figure("95 % interval, low end; null when not given.", nullable=True)
    ci_high = figure("95 % interval, high end.", nullable=True)
    unreliable = fields.Boolean(metadata={"description": "Fewer than 30 respondents, or a relative standard error "
                                                         "over 30 %."})


class OutcomesRow(_Breakdown, _Estimate):
    wave = label("Wave code.")
    country = label("Destination country, or `all`.")
    partner = label("Reintegration partner code, or `all`.")


class TrendsRow(_Breakdown, _Estimate):
    wave = label("Wave code.")
    quarter = label("Quarter of return (the return cohort), 2026-Q3.")


class HeardRow(_Breakdown):
    group = label("Reporting group of the questionnaire (word_of_mouth, ...).")
    channel = label("`all` for the group's row, else one of its channels (an option code).")
    answered = figure("Respondents who answered the question.")
    every = figure("Respondents who named the channel (or one of the group's).")
    every_share = figure("every / answered, 4 decimals.", nullable=True)
    first = figure("Respondents who named it (or one of the group's) first.")
    first_share = figure("first / answered, 4 decimals.", nullable=True)


class FactorsRow(_Breakdown):
    factor = label("A decision factor (an option code).")
    group = label("Its reporting group.")
    rank1 = figure("Respondents who put it first.")
    rank2 = figure("Second.")
    rank3 = figure("Third.")
    score = figure("3 × rank1 + 2 × rank2 + rank3.")


ROWS = {"caseload": CaseloadRow, "response": ResponseRow, "attrition": AttritionRow, "modes": ModesRow,
        "outcomes": OutcomesRow, "heard": HeardRow, "factors": FactorsRow, "trends": TrendsRow}


class _Report(ma.Schema):
    report = label("The report's name.")
    columns = fields.List(fields.String(), metadata={"description": "The rows' keys in order: the header of "
                                                                    "`monitor report --format csv`."})
    filters = fields.Dict(metadata={"description": "The filters applied, as given (lists of codes, dates)."})
    by = fields.List(fields.String(), allow_none=True, metadata={"description": "The breakdown asked for; null: "
                                                                               "the report's default."})
    weighted = fields.Boolean()
    publication = fields.Boolean(metadata={"description": "Whether disclosure control was applied."})
    threshold = fields.Integer(allow_none=True, metadata={"description": "The suppression threshold applied, or "
                                                                         "null."})
    scope = fields.String(allow_none=True, metadata={
        "description": "The organisation whose cases the figures are limited to (partner staff), or null."})
    scoring_version = fields.Integer(allow_none=True, metadata={"description": "The active scoring version."})


def report_schema(kind: str) -> type[ma.Schema]:
    """The answer of /api/v1/reports/<kind>: the rows, and what they were computed with."""
    return type(f"{kind.capitalize()}Report", (_Report,), {
        "rows": fields.List(fields.Nested(ROWS[kind]), metadata={
            "description": f"Exactly the objects `monitor report {kind} --format json` prints."}),
    })


class ReportLink(ma.Schema):
    name = label("The report's name.")
    url = label("Its address.")


class Index(ma.Schema):
    reports = fields.List(fields.Nested(ReportLink))
    openapi = label("The address of this API's OpenAPI document.")
    role = label("The role the request acts with.")
    scope = fields.String(allow_none=True, metadata={"description": "The organisation the figures are limited "
                                                                   "to, or null."})
    authenticated_by = fields.String(metadata={"enum": ["token", "session"]})
