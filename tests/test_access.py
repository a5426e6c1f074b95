"""The access-control matrix: every route, every role, and a foreign organisation.

A new route fails `test_every_route_is_in_the_matrix` until its expectations are written here.
"""
from __future__ import annotations

import pytest

from monitor.access import visible_returnees
from monitor.extensions import db

LOGIN = "login"  # a redirect to the login page
ALL_ROLES = ("anonymous", "admin", "analyst", "caritas", "caritas-ge", "iom", "coordinator", "coordinator-iom")
STAFF = ("admin", "caritas", "caritas-ge", "iom", "coordinator", "coordinator-iom")  # the work list's users
# Who manages organisations and users: admins any; a coordinator its own partner's (IOM's local
# partner and IOM's staff are the objects of those routes: coordinator-iom's own, Caritas's
# coordinator's foreign, answered 404).
MANAGERS = {"admin", "coordinator-iom"}

# Returnee GE-C-001 belongs to Caritas (local partner Caritas Georgia); IOM is the foreign organisation
# (and coordinator-iom, IOM's coordinator, a foreign coordinator).
CASE = "GE-C-001"


def everyone(status):
    return {role: (LOGIN if role == "anonymous" else status) for role in ALL_ROLES}


def only(allowed, status=200, others=403):
    return {role: (LOGIN if role == "anonymous" else status if role in allowed else others) for role in ALL_ROLES}


def managed(status):
    """A route over IOM's local partner or one of IOM's users: admins and IOM's coordinator;
    Caritas's coordinator gets 404 (not its own); everyone else 403."""
    return only(MANAGERS, status) | {"coordinator": 404}


def case_route(status, roles_allowed=("admin", "caritas", "caritas-ge", "coordinator"), analyst=403):
    expected = {"anonymous": LOGIN, "analyst": analyst, "iom": 404, "coordinator-iom": 404}
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
    # The login's second step: without a password step first, back to the login page (or home).
    "auth.second_step": ("GET", "/login/code", everyone(302)),
    # Everyone sets up their own second factor; new recovery codes need one set up first.
    "auth.second_factor": ("GET", "/account/second-factor", everyone(200)),
    "auth.recovery_codes": ("POST", "/account/second-factor/recovery-codes", everyone(302)),
    "returnees.index": ("GET", "/returnees/", only({"admin", "analyst", *STAFF})),
    # Coordinators import for their own partner (rows of another are errors: test_coordinators.py).
    "returnees.import_csv": ("GET", "/returnees/import", only({"admin", "coordinator", "coordinator-iom"})),
    # A finished import job's page: an administrator's, or the coordinator's who uploaded it (an
    # admin uploaded this one: a coordinator finds no such job).
    "returnees.import_job": ("GET", "/returnees/import/{job}", only({"admin"}) | {"coordinator": 404, "coordinator-iom": 404}),
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
    "worklist.index": ("GET", "/worklist/", only(set(STAFF))),
    # GE-C-001's follow-up: its organisation's staff record an attempt; IOM's staff get a 404.
    "worklist.attempt": ("POST", "/worklist/{follow_up}/attempt", case_route(302)),
    "worklist.contact": ("POST", "/worklist/{follow_up}/contact", case_route(200)),
    # The offline work list of Caritas Georgia: its staff, Caritas's (its parent) and admins; IOM's staff 404.
    "worklist.export": ("POST", "/worklist/export?organisation=caritas-ge", case_route(200)),
    # A text id nobody has: 404 for those who may use the work list.
    "worklist.text_handled": ("POST", "/worklist/texts/999999/handled",
                              only(set(STAFF), status=404)),
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
    "admin.organisations": ("GET", "/admin/organisations", only({"admin", "coordinator", "coordinator-iom"})),
    "admin.organisation_new": ("GET", "/admin/organisations/new", only({"admin", "coordinator", "coordinator-iom"})),
    "admin.organisation_edit": ("GET", "/admin/organisations/{org}", managed(200)),
    "admin.users": ("GET", "/admin/users", only({"admin", "coordinator", "coordinator-iom"})),
    "admin.user_new": ("GET", "/admin/users/new", only({"admin", "coordinator", "coordinator-iom"})),
    "admin.user_edit": ("GET", "/admin/users/{user}", managed(200)),
    "admin.user_unlock": ("POST", "/admin/users/{user}/unlock", managed(302)),
    # An empty form: the reason is required (400, nothing reset).
    "admin.user_second_factor_reset": ("POST", "/admin/users/{user}/second-factor/reset", managed(400)),
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
    from monitor.models import AttentionItem, ImportJob
    from monitor.responses.operations import start_response

    follow_up = make_follow_up(returnees["caritas-ge"], "m1")  # an interview belongs to a follow-up
    item = AttentionItem(response=start_response(follow_up, "phone"), flag="no_shelter")
    db.session.add(item)
    job = ImportJob(form_key="matrix-job-key-0001", user_id=users["admin"].id, status="done", report={
        "rows": 1, "created": 1, "updated": 0, "unchanged": 0, "written": True, "errors": [], "warnings": []})
    db.session.add(job)
    db.session.commit()
    create_token(users["iom"], "matrix")
    method, url, expected = MATRIX[endpoint]
    url = url.format(org=orgs["iom-ge"].id, user=users["iom"].id, follow_up=follow_up.id, item=item.id,
                     token=tokens_of(users["iom"])[0].id, job=job.id)
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
    assert codes(users["coordinator"]) == ["AM-C-001", "GE-C-001", "GE-C-002"]
    assert codes(users["coordinator-iom"]) == ["GE-I-001"]


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


# -- what an allowed POST does, and what a denied one does not ---------------------------------
# A POST the matrix expects to redirect redirects whether its form worked or failed (and the
# matrix sends empty forms): here each is sent a valid form, and its effect is read in the
# database (or in the session it changes). An allowed role's POST changes it; a denied role's
# (403, 404, the login page) changes nothing. `reset` puts a one-way change back between roles.

def _sql(statement, **values):
    return db.session.execute(db.text(statement), values)


def _returnee_field(column):
    return lambda ctx, browser: _sql(f"SELECT {column} FROM returnees WHERE code = :code", code=CASE).scalar()


def _count(statement):
    return lambda ctx, browser: _sql(statement, **ctx).scalar()


def _logged_in(ctx, browser):
    return browser.get("/account").status_code == 200


def _language(ctx, browser):
    page = browser.get("/account" if _logged_in(ctx, browser) else "/login")
    return '<html lang="fr"' in page.get_data(as_text=True)


def _form_key():
    import secrets

    return secrets.token_urlsafe(16)


EFFECTS = {
    # endpoint: (form, probe, reset, changed: (before, after) -> bool)
    "main.set_language": (lambda ctx: {"locale": "fr"}, _language, None, lambda before, after: after and not before),
    "auth.logout": (lambda ctx: {}, _logged_in, None, lambda before, after: before and not after),
    "returnees.record_consent": (
        lambda ctx: {"consent-channels": "sms", "consent-method": "written"},
        _count("SELECT count(*) FROM consent_events WHERE returnee_id = :returnee"), None,
        lambda before, after: after == before + 1),
    "returnees.withdraw_consent": (
        lambda ctx: {"withdraw-confirm": "y"}, _returnee_field("consent_withdrawn_at"),
        lambda ctx: _sql("UPDATE returnees SET consent_withdrawn_at = NULL WHERE code = :code", code=CASE),
        lambda before, after: before is None and after is not None),
    "returnees.do_not_contact": (
        lambda ctx: {"value": "1"}, _returnee_field("do_not_contact"),
        lambda ctx: _sql("UPDATE returnees SET do_not_contact = :no WHERE code = :code", no=False, code=CASE),
        lambda before, after: not before and after),
    "returnees.reveal_contact": (
        lambda ctx: {}, _count("SELECT count(*) FROM audit_entries WHERE action = 'returnee.contact.view'"), None,
        lambda before, after: after == before + 1),
    "worklist.attempt": (
        lambda ctx: {"outcome": "no_answer", "form_key": _form_key()},
        _count("SELECT count(*) FROM contact_attempts WHERE follow_up_id = :follow_up"), None,
        lambda before, after: after == before + 1),
    "worklist.contact": (
        lambda ctx: {}, _count("SELECT count(*) FROM audit_entries WHERE action = 'returnee.contact.view'"), None,
        lambda before, after: after == before + 1),
    "worklist.export": (
        lambda ctx: {}, _count("SELECT count(*) FROM audit_entries WHERE action = 'worklist.export'"), None,
        lambda before, after: after == before + 1),
    "attention.close": (
        lambda ctx: {"action": "called_back"}, _count("SELECT closed_at FROM attention_items WHERE id = :item"),
        lambda ctx: _sql("UPDATE attention_items SET closed_at = NULL, action = NULL, closed_by_id = NULL "
                         "WHERE id = :item", **ctx),
        lambda before, after: before is None and after is not None),
    "admin.user_unlock": (
        lambda ctx: {}, _count("SELECT count(*) FROM login_throttles"),
        lambda ctx: _wait_for_iom(), lambda before, after: before == 1 and after == 0),
    "auth.token_create": (
        lambda ctx: {"token-name": "R script", "token-form_key": _form_key()},
        _count("SELECT count(*) FROM api_tokens"), None, lambda before, after: after == before + 1),
    "auth.token_revoke": (
        lambda ctx: {}, _count("SELECT revoked_at FROM api_tokens WHERE id = :token"),
        lambda ctx: _sql("UPDATE api_tokens SET revoked_at = NULL WHERE id = :token", **ctx),
        lambda before, after: before is None and after is not None),
}


def _wait_for_iom():
    from monitor.auth.operations import authenticate

    _sql("DELETE FROM login_throttles")
    db.session.commit()
    authenticate("staff@iom.example", "not the password", address="192.0.2.1")
    db.session.commit()


@pytest.mark.parametrize("endpoint", sorted(EFFECTS))
def test_an_allowed_post_has_its_effect_and_a_denied_one_none(endpoint, users, returnees, orgs, browser_for):
    from tests.conftest import make_follow_up

    from monitor.auth.tokens import create_token, tokens_of
    from monitor.models import AttentionItem
    from monitor.responses.operations import start_response

    follow_up = make_follow_up(returnees["caritas-ge"], "m1", state="phone_task")
    item = AttentionItem(response=start_response(follow_up, "phone"), flag="no_shelter")
    db.session.add(item)
    db.session.commit()
    create_token(users["iom"], "matrix")
    ctx = {"returnee": returnees["caritas-ge"].id, "follow_up": follow_up.id, "item": item.id,
           "token": tokens_of(users["iom"])[0].id}
    method, url, expected = MATRIX[endpoint]
    assert method == "POST"
    url = url.format(org=orgs["iom"].id, user=users["iom"].id, **ctx)
    form, probe, reset, changed = EFFECTS[endpoint]
    seen = {}
    for role in ALL_ROLES:
        browser = browser_for(None if role == "anonymous" else users[role])
        if reset:
            reset(ctx)
            db.session.commit()
        db.session.expire_all()
        before = probe(ctx, browser)
        db.session.rollback()
        response = browser.post(url, form(ctx))
        db.session.expire_all()
        after = probe(ctx, browser)
        db.session.rollback()
        allowed = expected[role] in (200, 302)
        seen[role] = (response.status_code, changed(before, after))
        assert changed(before, after) == allowed, (role, response.status_code, before, after)
        if not allowed:
            assert before == after, (role, before, after)
    assert any(effect for _status, effect in seen.values()), seen
