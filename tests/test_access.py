"""The access-control matrix: every route, every role, and a foreign organisation.

A new route fails `test_every_route_is_in_the_matrix` until its expectations are written here.
"""
from __future__ import annotations

import pytest

from monitor.access import visible_returnees
from monitor.extensions import db

LOGIN = "login"  # a redirect to the login page
ALL_ROLES = ("anonymous", "admin", "analyst", "caritas", "caritas-ge", "iom")

# Returnee GE-C-001 belongs to Caritas (local partner Caritas Georgia); IOM is the foreign organisation.
CASE = "GE-C-001"


def everyone(status):
    return {role: (LOGIN if role == "anonymous" else status) for role in ALL_ROLES}


def only(allowed, status=200, others=403):
    return {role: (LOGIN if role == "anonymous" else status if role in allowed else others) for role in ALL_ROLES}


def case_route(status, roles_allowed=("admin", "caritas", "caritas-ge"), analyst=403):
    expected = {"anonymous": LOGIN, "analyst": analyst, "iom": 404}
    for role in roles_allowed:
        expected[role] = status
    return expected


def api_route(status=200):
    """The API answers 401 (JSON), not a redirect to the login page."""
    return {role: (401 if role == "anonymous" else status) for role in ALL_ROLES}


REPORTS = ("caseload", "response", "attrition", "modes", "outcomes", "heard", "factors", "trends")

MATRIX = {
    # endpoint: (method, url, {role: expected})
    "main.home": ("GET", "/", everyone(302) | {"anonymous": 302}),
    "main.health": ("GET", "/health", {role: 200 for role in ALL_ROLES}),
    "main.favicon": ("GET", "/favicon.ico", {role: 200 for role in ALL_ROLES}),
    "main.set_language": ("POST", "/language", {role: 302 for role in ALL_ROLES}),
    "auth.login": ("GET", "/login", {role: (200 if role == "anonymous" else 302) for role in ALL_ROLES}),
    "auth.logout": ("POST", "/logout", everyone(302)),
    "auth.account": ("GET", "/account", everyone(200)),
    "returnees.index": ("GET", "/returnees/", only({"admin", "analyst", "caritas", "caritas-ge", "iom"})),
    "returnees.import_csv": ("GET", "/returnees/import", only({"admin"})),
    "returnees.detail": ("GET", f"/returnees/{CASE}", case_route(200, analyst=200)),
    "returnees.reveal_contact": ("POST", f"/returnees/{CASE}/contact", case_route(200)),
    "returnees.edit": ("GET", f"/returnees/{CASE}/edit", case_route(200)),
    "returnees.record_consent": ("POST", f"/returnees/{CASE}/consent", case_route(302)),
    "returnees.withdraw_consent": ("POST", f"/returnees/{CASE}/consent/withdraw", case_route(302)),
    "returnees.do_not_contact": ("POST", f"/returnees/{CASE}/do-not-contact", case_route(302)),
    # Erasing a case's identity: administrators only (an empty form is sent back to the case page).
    "returnees.erase": ("POST", f"/returnees/{CASE}/erase", only({"admin"}, status=302)),
    "interviews.interview": ("GET", f"/interviews/{CASE}/m1", case_route(200)),
    # m1 has no closed response here: those who may correct are sent back to the case page.
    "interviews.correct": ("GET", f"/interviews/{CASE}/m1/correct", case_route(302)),
    "worklist.index": ("GET", "/worklist/", only({"admin", "caritas", "caritas-ge", "iom"})),
    # GE-C-001's follow-up: its organisation's staff record an attempt; IOM's staff get a 404.
    "worklist.attempt": ("POST", "/worklist/{follow_up}/attempt", case_route(302)),
    "worklist.contact": ("POST", "/worklist/{follow_up}/contact", case_route(200)),
    # The offline work list of Caritas Georgia: its staff, Caritas's (its parent) and admins; IOM's staff 404.
    "worklist.export": ("POST", "/worklist/export?organisation=caritas-ge", case_route(200)),
    # A text id nobody has: 404 for those who may use the work list.
    "worklist.text_handled": ("POST", "/worklist/texts/999999/handled",
                              only({"admin", "caritas", "caritas-ge", "iom"}, status=404)),
    # GE-C-001's open needs-attention item: its organisation's staff close it (or are told to
    # choose what was done: an empty form changes nothing); IOM's staff get a 404.
    "attention.close": ("POST", "/needs/{item}/close", case_route(302)),
    # The returnee's pages answer to a personal link, whoever is logged in; a wrong one is a 404.
    "respond.start": ("GET", "/s/not-a-real-token", {role: 404 for role in ALL_ROLES}),
    "respond.consent": ("POST", "/s/not-a-real-token/consent", {role: 404 for role in ALL_ROLES}),
    "respond.module": ("GET", "/s/not-a-real-token/housing", {role: 404 for role in ALL_ROLES}),
    "respond.opt_out": ("POST", "/s/not-a-real-token/opt-out", {role: 404 for role in ALL_ROLES}),
    # Twilio's webhooks answer only signed requests (tests/test_sms_twilio.py signs them).
    "sms.status": ("POST", "/sms/twilio/status", {role: 403 for role in ALL_ROLES}),
    "sms.inbound": ("POST", "/sms/twilio/inbound", {role: 403 for role in ALL_ROLES}),
    "admin.organisations": ("GET", "/admin/organisations", only({"admin"})),
    "admin.organisation_new": ("GET", "/admin/organisations/new", only({"admin"})),
    "admin.organisation_edit": ("GET", "/admin/organisations/{org}", only({"admin"})),
    "admin.users": ("GET", "/admin/users", only({"admin"})),
    "admin.user_new": ("GET", "/admin/users/new", only({"admin"})),
    "admin.user_edit": ("GET", "/admin/users/{user}", only({"admin"})),
    "admin.user_unlock": ("POST", "/admin/users/{user}/unlock", only({"admin"}, status=302)),
    "admin.audit_log": ("GET", "/admin/audit", only({"admin"})),
    "admin.languages": ("GET", "/admin/languages", only({"admin"})),
    "admin.plan": ("GET", "/admin/plan", only({"admin"})),
    "admin.outbox": ("GET", "/admin/outbox", only({"admin"})),
    "admin.data_protection": ("GET", "/admin/data-protection", only({"admin"})),
    # The dashboard: every staff role (partner staff see their organisation's figures:
    # tests/test_dashboard.py); plotly.js is a public library, served to anyone.
    "dashboard.index": ("GET", "/dashboard/", everyone(200)),
    "dashboard.download": ("GET", "/dashboard/outcomes.csv?publication=1", everyone(200)),
    "dashboard.plotly_js": ("GET", "/dashboard/plotly.min.js", {role: 200 for role in ALL_ROLES}),
    # The responses export: everyone with an account (partner staff get their organisation's
    # cases only: tests/test_exports_responses.py); an empty POST is a form error.
    "exports.index": ("GET", "/exports/", everyone(200)),
    # Every staff member makes and revokes their own API tokens: an empty form comes back with
    # its error; IOM staff's token is theirs alone to revoke (404 for everyone else).
    "auth.token_create": ("POST", "/account/tokens", everyone(200)),
    "auth.token_revoke": ("POST", "/account/tokens/{token}/revoke", everyone(404) | {"iom": 302}),
    # The API: every role reads the reports (partner staff their organisation's figures).
    "api.index": ("GET", "/api/v1/", api_route()),
    **{f"api.{kind}": ("GET", f"/api/v1/reports/{kind}", api_route()) for kind in REPORTS},
    # The OpenAPI document describes the API, not its data: public.
    "api-docs.openapi_json": ("GET", "/api/v1/openapi.json", {role: 200 for role in ALL_ROLES}),
}


def test_every_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert endpoints == set(MATRIX)


@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_route_access(endpoint, users, returnees, orgs, browser_for):
    from tests.conftest import make_follow_up

    from monitor.auth.tokens import create_token, tokens_of
    from monitor.models import AttentionItem
    from monitor.responses.operations import start_response

    follow_up = make_follow_up(returnees["caritas-ge"], "m1")  # an interview belongs to a follow-up
    item = AttentionItem(response=start_response(follow_up, "phone"), flag="no_shelter")
    db.session.add(item)
    db.session.commit()
    create_token(users["iom"], "matrix")
    method, url, expected = MATRIX[endpoint]
    url = url.format(org=orgs["iom"].id, user=users["iom"].id, follow_up=follow_up.id, item=item.id,
                     token=tokens_of(users["iom"])[0].id)
    assert set(expected) == set(ALL_ROLES)
    for role in ALL_ROLES:
        browser = browser_for(None if role == "anonymous" else users[role])
        response = browser.get(url) if method == "GET" else browser.post(url)
        want = expected[role]
        if want == LOGIN:
            assert response.status_code == 302, (role, url)
            assert "/login" in response.location, (role, url)
        else:
            assert response.status_code == want, (role, url, response.status_code)


def test_scoping_function(app, users, returnees):
    def codes(user):
        return sorted(r.code for r in db.session.scalars(visible_returnees(user)))

    assert codes(users["admin"]) == ["AM-C-001", "GE-C-001", "GE-C-002", "GE-I-001"]
    assert codes(users["analyst"]) == ["AM-C-001", "GE-C-001", "GE-C-002", "GE-I-001"]
    assert codes(users["caritas"]) == ["AM-C-001", "GE-C-001", "GE-C-002"]
    assert codes(users["caritas-ge"]) == ["GE-C-001"]
    assert codes(users["caritas-am"]) == ["AM-C-001"]
    assert codes(users["iom"]) == ["GE-I-001"]


def test_partner_list_shows_only_own_cases(users, returnees, browser_for):
    page = browser_for(users["caritas-ge"]).get("/returnees/").get_data(as_text=True)
    assert "GE-C-001" in page
    for foreign in ("GE-I-001", "AM-C-001", "GE-C-002"):
        assert foreign not in page


def test_partner_cannot_filter_into_another_partner(users, returnees, orgs, browser_for):
    page = browser_for(users["iom"]).get(f"/returnees/?organisation={orgs['caritas'].id}").get_data(as_text=True)
    assert "GE-C-001" not in page and "GE-C-002" not in page


def test_partner_cannot_edit_foreign_case_by_post(users, returnees, browser_for):
    browser = browser_for(users["iom"])
    response = browser.post(f"/returnees/{CASE}/edit", {"language": "ru"})
    assert response.status_code == 404
    db.session.refresh(returnees["caritas-ge"])
    assert returnees["caritas-ge"].language == "ka"


def test_analyst_never_sees_names_or_phone_numbers(users, returnees, browser_for):
    browser = browser_for(users["analyst"])
    page = browser.get(f"/returnees/{CASE}").get_data(as_text=True)
    assert "Nino" not in page and "+995" not in page
    assert "Show contact details" not in page
    assert browser.post(f"/returnees/{CASE}/contact").status_code == 403
    listing = browser.get("/returnees/?q=%2B995555123456").get_data(as_text=True)
    assert "GE-C-001" not in listing  # phone search is not offered to analysts


def test_partner_sees_contact_only_on_request(users, returnees, browser_for):
    browser = browser_for(users["caritas-ge"])
    page = browser.get(f"/returnees/{CASE}").get_data(as_text=True)
    assert "+995555123456" not in page and "Nino" not in page
    revealed = browser.post(f"/returnees/{CASE}/contact").get_data(as_text=True)
    assert "+995555123456" in revealed and "Nino Beridze" in revealed


def test_staff_can_find_a_case_by_phone_number(users, returnees, browser_for):
    page = browser_for(users["caritas"]).get("/returnees/?q=%2B995555123456").get_data(as_text=True)
    assert "GE-C-001" in page and "GE-C-002" in page and "GE-I-001" not in page


def test_deactivated_user_is_logged_out(users, browser_for):
    browser = browser_for(users["caritas"])
    assert browser.get("/returnees/").status_code == 200
    users["caritas"].active = False
    db.session.commit()
    response = browser.get("/returnees/")
    assert response.status_code == 302 and "/login" in response.location


def test_export_download_by_role(users, returnees, browser_for):
    """The export's POST: every role downloads, partner staff only their organisation's cases; an
    anonymous visitor is sent to log in; free text is refused to all but administrators."""
    from tests.conftest import make_follow_up

    for returnee in returnees.values():
        make_follow_up(returnee, "m1")
    db.session.commit()
    form = {"file_format": "csv", "language": "en", "organisation": ""}
    assert "/login" in browser_for(None).post("/exports/", form).location
    seen = {}
    for role in ("admin", "analyst", "caritas", "caritas-ge", "iom"):
        mine = dict(form, organisation=users[role].organisation.code if users[role].organisation else "")
        response = browser_for(users[role]).post("/exports/", mine)
        assert response.status_code == 200, (role, response.status_code)
        seen[role] = sorted(line.split(",")[0] for line in response.get_data(as_text=True).splitlines()[1:])
        refused = browser_for(users[role]).post("/exports/", dict(mine, with_text="y"))
        assert refused.status_code == (200 if role == "admin" else 400), role
    assert seen["admin"] == seen["analyst"] == ["AM-C-001", "GE-C-001", "GE-C-002", "GE-I-001"]
    assert seen["caritas"] == ["AM-C-001", "GE-C-001", "GE-C-002"]
    assert seen["caritas-ge"] == ["GE-C-001"] and seen["iom"] == ["GE-I-001"]
