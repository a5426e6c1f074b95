"""API tokens: made on the account page and shown there once, stored as a hash, used as
`Authorization: Bearer`, last use noted, audited (made, revoked, first use of a day), revoked
there; a deactivated user's tokens open nothing; the same form sent twice at once makes one."""
from __future__ import annotations

import hashlib
import re
import urllib.parse
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from monitor.api.auth import authenticate
from monitor.auth.tokens import create_token, mark_used
from monitor.extensions import db
from monitor.models import ApiToken, AuditEntry
from tests.test_api import api
from tests.test_double_tap import _at_once, _logged_in

TOKEN = re.compile(r'<code dir="ltr" class="token">(rm_[A-Za-z0-9_-]+)</code>')


def actions(*names):
    return [entry.action for entry in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action.in_(names)).order_by(AuditEntry.id))]


def make_on_the_account_page(browser, name="R script"):
    page = browser.post("/account/tokens", {"token-name": name, "token-form_key": "k" * 16 + name.replace(" ", "")[:8]})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    found = TOKEN.search(text)
    return found.group(1) if found else None, text


def test_made_shown_once_and_stored_as_a_hash(app, users, browser_for):
    browser = browser_for(users["analyst"])
    token, page = make_on_the_account_page(browser)
    assert token and "Copy it now" in page
    stored = db.session.scalar(select(ApiToken))
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
    assert token not in {stored.name, stored.hint, stored.token_hash} and stored.hint == token[:8]
    assert len(token) > 40  # 256 random bits
    again = browser.get("/account").get_data(as_text=True)
    assert token not in again and stored.hint in again and "R script" in again
    assert actions("api_token.create") == ["api_token.create"]
    assert stored.user_id == users["analyst"].id and stored.last_used_at is None


def test_a_name_is_needed(app, users, browser_for):
    browser = browser_for(users["analyst"])
    token, page = make_on_the_account_page(browser, name="")
    assert token is None and "Say what the token is for" in page
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_used_with_its_users_role_last_use_noted_and_audited_once_a_day(app, users):
    token = create_token(users["iom"], "script")
    header = {"Authorization": f"Bearer {token}"}
    first = api(app, "/api/v1/", header)
    assert first.status_code == 200
    assert first.get_json() | {"reports": None} == {"reports": None, "openapi": "/api/v1/openapi.json",
                                                    "role": "partner", "scope": "iom",
                                                    "authenticated_by": "token"}
    assert "Set-Cookie" not in first.headers  # a token opens no session
    assert first.headers["Cache-Control"] == "no-store"
    for _ in range(3):
        assert api(app, "/api/v1/reports/caseload", header).status_code == 200
    stored = db.session.scalar(select(ApiToken))
    db.session.refresh(stored)
    assert stored.last_used_at is not None
    assert actions("api_token.use") == ["api_token.use"]  # one a day, however many calls
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "api_token.use"))
    assert (entry.user_id, entry.object_type, entry.object_id) == (users["iom"].id, "api_tokens", str(stored.id))
    # the next day: one more entry
    mark_used(stored, now=stored.last_used_at + timedelta(days=1))
    assert actions("api_token.use") == ["api_token.use", "api_token.use"]


def test_a_token_wins_over_a_session_cookie(app, users, browser_for):
    browser = browser_for(users["admin"])
    token = create_token(users["iom"], "script")
    answer = browser.get("/api/v1/", headers={"Authorization": f"Bearer {token}"})
    assert answer.get_json()["scope"] == "iom"
    refused = browser.get("/api/v1/", headers={"Authorization": "Bearer rm_revoked-or-wrong"})
    assert refused.status_code == 401  # a wrong token is not saved by the session


def test_revoked_on_the_account_page(app, users, browser_for):
    browser = browser_for(users["caritas"])
    token, _page = make_on_the_account_page(browser)
    header = {"Authorization": f"Bearer {token}"}
    assert api(app, "/api/v1/", header).status_code == 200
    stored = db.session.scalar(select(ApiToken))
    # someone else cannot revoke it: it is not theirs to know about
    assert browser_for(users["iom"]).post(f"/account/tokens/{stored.id}/revoke").status_code == 404
    assert api(app, "/api/v1/", header).status_code == 200
    for _ in range(2):  # pressed twice: revoked once
        assert browser.post(f"/account/tokens/{stored.id}/revoke").status_code == 302
    reply = api(app, "/api/v1/reports/caseload", header)
    assert reply.status_code == 401 and reply.get_json()["message"].startswith("The API token is not valid")
    assert reply.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert actions("api_token.create", "api_token.revoke") == ["api_token.create", "api_token.revoke"]
    assert "Revoked on" in browser.get("/account").get_data(as_text=True)
    assert browser.post("/account/tokens/999999/revoke").status_code == 404


def test_a_deactivated_users_tokens_stop_working(app, users):
    token = create_token(users["analyst"], "script")
    header = {"Authorization": f"Bearer {token}"}
    assert api(app, "/api/v1/", header).status_code == 200
    users["analyst"].active = False
    db.session.commit()
    assert api(app, "/api/v1/", header).status_code == 401
    users["analyst"].active = True
    db.session.commit()
    assert api(app, "/api/v1/", header).status_code == 200


def test_a_token_follows_its_users_role_and_organisation(app, users, orgs):
    token = create_token(users["caritas"], "script")
    header = {"Authorization": f"Bearer {token}"}
    assert api(app, "/api/v1/", header).get_json()["scope"] == "caritas"
    users["caritas"].organisation = orgs["caritas-am"]
    db.session.commit()
    assert api(app, "/api/v1/", header).get_json()["scope"] == "caritas-am"
    users["caritas"].role = "analyst"
    db.session.commit()
    assert api(app, "/api/v1/", header).get_json() | {"reports": None} == {
        "reports": None, "openapi": "/api/v1/openapi.json", "role": "analyst", "scope": None,
        "authenticated_by": "token"}


def test_csrf_applies_to_a_sessions_writes_never_to_a_tokens(app, users):
    """The API is read-only today; its guard for writes is in place: a token needs no CSRF
    token (a script has none), a session does."""
    from flask_login import login_user
    from flask_wtf.csrf import CSRFError

    token = create_token(users["admin"], "script")
    with app.app_context(), app.test_request_context("/api/v1/", method="POST",
                                                     headers={"Authorization": f"Bearer {token}"}):
        authenticate()  # no CSRF error
    with app.app_context(), app.test_request_context("/api/v1/", method="POST"):
        login_user(db.session.get(type(users["admin"]), users["admin"].id))
        with pytest.raises(CSRFError):
            authenticate()


def test_the_same_form_sent_at_once_makes_one_token(app, users, server):  # noqa: F811
    opener = _logged_in(server, users["analyst"].email)
    page = opener.open(f"{server}/account").read().decode()
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    key = re.search(r'name="token-form_key"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="token-form_key"', page)
    body = urllib.parse.urlencode({"csrf_token": csrf, "token-name": "twice",
                                   "token-form_key": key.group(1) or key.group(2)}).encode()
    statuses = _at_once(opener, f"{server}/account/tokens", body)
    assert sorted(statuses) == [200] + [302] * 5, statuses  # one shows the token, the others say why not
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 1
    assert actions("api_token.create") == ["api_token.create"]
