"""/api/v1/: the same rows as `monitor report --format json` for the same filters, scoped to a
partner's organisation, suppressed for publication; an OpenAPI document that validates and
whose every path answers as it says; JSON errors (400, 401, 403, 404, 405, 429), never a page."""
from __future__ import annotations

import json

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

from monitor.auth.tokens import create_token
from monitor.extensions import db
from tests.reports_helpers import add_case, seed_004
from tests.test_organisations_cli import invoke
from tests.test_reports_estimator import load_example
from tests.test_reports_heard import answers_fixture

KINDS = ("caseload", "response", "attrition", "modes", "outcomes", "heard", "factors", "trends")
# The API's query parameters as `monitor report` options.
OPTIONS = {"wave": "--wave", "returned_from": "--returned-from", "returned_to": "--returned-to",
           "country": "--country", "partner": "--partner", "local_partner": "--local-partner",
           "channel": "--channel", "sex": "--sex", "vulnerability": "--vulnerability", "by": "--by"}
QUERIES = [
    {},
    {"publication": "true"},
    {"wave": "m6", "country": "GE", "by": "country,partner", "publication": "true"},
    {"wave": ["m1", "m6"], "channel": "sms", "weighted": "true"},
    {"by": "partner", "weighted": "true", "publication": "true"},
    {"country": "ge,am", "partner": "caritas", "sex": "f", "by": ""},
    {"returned_from": "2026-01-01", "returned_to": "2026-12-31", "vulnerability": "medical",
     "local_partner": "caritas-ge"},
]


@pytest.fixture
def figures(app, orgs):
    """Something in every report: the test phase's caseload, answers on how they heard and why,
    and the R example's design-weighted wave."""
    seed_004()
    answers_fixture()
    load_example()
    add_case("caritas", "GE", "1.1", wave="m6", local="caritas-ge", sex="f", vulnerabilities=("medical",),
             channel="phone", mode="phone")
    for again in ("1.1", "2.20", "1.2"):  # followed up after the one-month check: attrition
        add_case("iom", "AM", again, wave="m6", returnee_id=add_case("iom", "AM", "1.1", wave="m1"))
    db.session.commit()


@pytest.fixture
def bearer(users):
    def make(role):
        return {"Authorization": f"Bearer {create_token(users[role], 'tests')}"}
    return make


def cli_rows(app, kind, query, organisation=None):
    args = ["report", kind, "--format", "json"]
    for name, value in query.items():
        if name in ("weighted", "publication"):
            args += [f"--{name}"] if value == "true" else []
        else:
            for one in value if isinstance(value, list) else [value]:
                args += [f"{OPTIONS[name]}={one}"]
    if organisation:
        args += ["--organisation", organisation]
    result = invoke(app, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def api(app, url, headers=None, query=None, method="GET"):
    """One request in an app context of its own, as in a server (`g` is per request)."""
    with app.app_context():
        return app.test_client().open(url, method=method, headers=headers or {}, query_string=query or {})


def test_the_same_rows_as_monitor_report(app, figures, bearer):
    admin = bearer("admin")
    for query in QUERIES:
        for kind in KINDS:
            answer = api(app, f"/api/v1/reports/{kind}", admin, query)
            assert answer.status_code == 200, (kind, query, answer.get_json())
            body = answer.get_json()
            assert body["rows"] == cli_rows(app, kind, query), (kind, query)
            if not query:
                assert body["rows"], kind  # every report has something to compare
            if body["rows"]:
                assert body["columns"] == list(body["rows"][0])
            assert (body["report"], body["scope"], body["publication"]) == (kind, None, query.get("publication") == "true")
    # what the filters and breakdowns do is visible in the numbers (not the same answer each time)
    everyone = api(app, "/api/v1/reports/caseload", admin).get_json()
    georgia = api(app, "/api/v1/reports/caseload", admin, {"country": "GE"}).get_json()
    assert 0 < georgia["rows"][-1]["Total"] < everyone["rows"][-1]["Total"]
    outcomes = api(app, "/api/v1/reports/outcomes", admin, {"wave": "m6", "by": "country"}).get_json()
    assert {row["country"] for row in outcomes["rows"]} == {"GE", "AM", "IQ"}
    assert outcomes["by"] == ["country"] and outcomes["filters"] == {"wave": ["m6"]}


def test_the_login_session_answers_too(app, figures, users, browser_for):
    browser = browser_for(users["analyst"])
    answer = browser.get("/api/v1/reports/response?wave=m1&by=wave,channel")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.get_json()["rows"] == cli_rows(app, "response", {"wave": "m1", "by": "wave,channel"})
    assert browser.get("/api/v1/").get_json()["authenticated_by"] == "session"


@pytest.mark.parametrize("role", ["caritas", "caritas-ge", "iom"])
def test_partner_staff_see_their_organisation(app, figures, users, bearer, browser_for, role):
    token = bearer(role)
    for kind in KINDS:
        for query in ({}, {"by": "partner", "publication": "true"}, {"partner": "caritas,iom"}):
            body = api(app, f"/api/v1/reports/{kind}", token, query).get_json()
            assert body["scope"] == role
            assert body["rows"] == cli_rows(app, kind, query, organisation=role), (kind, query)
    caseload = api(app, "/api/v1/reports/caseload", token).get_json()
    assert caseload["columns"] == ["country", "IOM" if role == "iom" else "Caritas International", "Total"]
    partners = {row["partner"] for row in api(app, "/api/v1/reports/outcomes", token, {"by": "partner"}).get_json()["rows"]}
    assert partners == ({"iom" if role == "iom" else "caritas"} if role != "caritas-ge" else set())  # its case: unweighted
    # the login session is scoped the same way
    session = browser_for(users[role]).get("/api/v1/reports/caseload").get_json()
    assert session["rows"] == caseload["rows"] and session["scope"] == role
    assert api(app, "/api/v1/", token).get_json()["scope"] == role


def test_partner_staff_of_a_local_partner_see_only_its_cases(app, figures, bearer):
    rows = api(app, "/api/v1/reports/caseload", bearer("caritas-ge")).get_json()["rows"]
    assert rows[-1]["Total"] == 1  # the one case of Caritas Georgia


def test_publication_suppresses(app, figures, bearer):
    admin = bearer("admin")
    plain = api(app, "/api/v1/reports/caseload", admin).get_json()
    published = api(app, "/api/v1/reports/caseload", admin, {"publication": "true"}).get_json()
    mongolia = [row for row in plain["rows"] if row["country"] == "Mongolia"][0]
    assert mongolia["Caritas International"] == 2
    assert [row for row in published["rows"] if row["country"] == "Mongolia"][0]["Caritas International"] == "<5"
    assert published["threshold"] == 5 and plain["threshold"] is None
    assert any(value == "x" for row in published["rows"] for value in row.values())
    outcomes = api(app, "/api/v1/reports/outcomes", admin, {"wave": "m6", "by": "country,partner",
                                                            "publication": "true"}).get_json()["rows"]
    small = [row for row in outcomes if row["country"] == "AM" and row["partner"] == "caritas"]
    assert small and all(row["n"] == "<5" and row["estimate"] == "<5" for row in small)
    app.config["REPORT_SUPPRESSION_THRESHOLD"] = 10
    try:
        stricter = api(app, "/api/v1/reports/caseload", admin, {"publication": "true"}).get_json()
        assert stricter["threshold"] == 10 and "<10" in json.dumps(stricter["rows"])
    finally:
        app.config["REPORT_SUPPRESSION_THRESHOLD"] = 5


# -- the OpenAPI document ----------------------------------------------------------------------

def test_openapi_document_validates_and_every_path_answers_as_documented(app, figures, bearer):
    answer = api(app, "/api/v1/openapi.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    spec = answer.get_json()
    validate_spec(spec)
    assert spec["openapi"].startswith("3.1")
    assert set(spec["components"]["securitySchemes"]) == {"bearerToken", "session"}
    paths = spec["paths"]
    assert set(paths) == {"/api/v1/"} | {f"/api/v1/reports/{kind}" for kind in KINDS}
    admin = bearer("admin")
    for path, operations in paths.items():
        assert set(operations) == {"get"}, path
        documented = operations["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        parameters = {p["name"] for p in operations["get"].get("parameters", [])}
        queries = [{}] if not parameters else [{}, {"publication": "true", "by": "country"},
                                               {"weighted": "true", "wave": "m6"}]
        for query in queries:
            reply = api(app, path, admin, query)
            assert reply.status_code == 200, (path, query, reply.get_json())
            # the answer is what the document says it is
            OAS31Validator({**documented, "components": spec["components"]}).validate(reply.get_json())
        if parameters:
            assert parameters == {"wave", "returned_from", "returned_to", "country", "partner", "local_partner",
                                  "channel", "sex", "vulnerability", "by", "weighted", "publication"}
            assert "400" in operations["get"]["responses"]


def test_the_document_describes_the_rows(app):
    spec = api(app, "/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert {"I", "RR1", "REF1"} <= set(schemas["ResponseRow"]["properties"])
    assert schemas["OutcomesRow"]["properties"]["ci_low"]["type"] == ["number", "string", "null"]
    assert set(schemas["ModesRow"]["properties"]) == {"wave", "sms-web", "phone", "visit", "import",
                                                      "living_abroad_again"}


# -- errors are JSON ---------------------------------------------------------------------------

def _error(reply, status):
    assert reply.status_code == status, reply.get_data(as_text=True)
    assert reply.mimetype == "application/json"
    body = reply.get_json()
    assert body["code"] == status and body["message"]
    return body


@pytest.mark.parametrize("query, field", [
    ({"returned_from": "April"}, "returned_from"),
    ({"country": "XX"}, "country"),
    ({"country": "Georgia"}, "country"),
    ({"partner": "nobody"}, "partner"),
    ({"local_partner": "iom"}, "local_partner"),
    ({"wave": "m99"}, "wave"),
    ({"channel": "pigeon"}, "channel"),
    ({"sex": "q"}, "sex"),
    ({"vulnerability": "tall"}, "vulnerability"),
    ({"by": "shoe_size"}, "by"),
    ({"weighted": "perhaps"}, "weighted"),
    ({"countr": "GE"}, "countr"),  # a misspelt filter is not silently ignored
    ({"returned_from": "2026-06-01", "returned_to": "2026-01-01"}, "returned_to"),
])
def test_a_bad_filter_is_a_400_that_names_it(app, orgs, bearer, query, field):
    body = _error(api(app, "/api/v1/reports/outcomes", bearer("admin"), query), 400)
    assert field in json.dumps(body["errors"]), body


def test_a_breakdown_a_report_cannot_make_is_a_400(app, orgs, bearer):
    body = _error(api(app, "/api/v1/reports/response", bearer("admin"), {"by": "country,sex"}), 400)
    assert "breaks down by wave, channel, country, partner only" in body["message"]


def test_errors_are_json_never_a_page(app, users, bearer):
    assert _error(api(app, "/api/v1/reports/caseload"), 401)["message"].startswith("Log in")
    assert api(app, "/api/v1/reports/caseload").headers["WWW-Authenticate"] == "Bearer"
    assert _error(api(app, "/api/v1/"), 401)
    assert _error(api(app, "/api/v1/reports/caseload", {"Authorization": "Bearer rm_not-a-token"}), 401)
    assert _error(api(app, "/api/v1/reports/caseload", {"Authorization": "Basic dXNlcjpwYXNz"}), 401)
    admin = bearer("admin")
    assert _error(api(app, "/api/v1/reports/nothing", admin), 404)
    assert _error(api(app, "/api/v1/nothing"), 404)
    assert _error(api(app, "/api/v1/reports/caseload", admin, method="POST"), 405)
    assert _error(api(app, "/api/v1/reports/caseload", admin, {"country": "G\x00E"}), 400)
    # partner staff whose account has lost its organisation see nothing, and are told why
    users["iom"].organisation_id = None
    db.session.commit()
    assert "organisation" in _error(api(app, "/api/v1/reports/caseload", bearer("iom")), 403)["message"]


def test_an_unexpected_failure_is_a_json_500(app, orgs, bearer, monkeypatch):
    from monitor.reports import rows

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(rows, "caseload", broken)
    body = _error(api(app, "/api/v1/reports/caseload", bearer("admin")), 500)
    assert "boom" not in json.dumps(body)


def test_rate_limited_per_token(app, orgs, bearer):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        first, second = bearer("admin"), bearer("analyst")
        assert [api(app, "/api/v1/", first).status_code for _ in range(3)] == [200, 200, 200]
        body = _error(api(app, "/api/v1/reports/caseload", first), 429)
        assert "wait" in body["message"]
        assert int(api(app, "/api/v1/", first).headers["Retry-After"]) > 0
        assert api(app, "/api/v1/", second).status_code == 200  # another token, another budget
        # guessing tokens counts against the address
        bad = {"Authorization": "Bearer rm_guess"}
        assert [api(app, "/api/v1/", bad).status_code for _ in range(4)] == [401, 401, 401, 429]
    finally:
        app.config["API_RATE_LIMIT"] = "60 per minute"
