"""Logging in and out, lockout, throttling, CSRF, session hardening."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from monitor.extensions import db
from monitor.models import AuditEntry
from monitor.models.types import utcnow
from tests.conftest import PASSWORD


def actions():
    return [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_login_and_logout(users, browser_for):
    browser = browser_for()
    response = browser.login("ADMIN@example.org ")  # case and spaces do not matter
    assert response.status_code == 302 and response.location == "/"
    assert browser.get("/returnees/").status_code == 200
    assert browser.post("/logout").status_code == 302
    response = browser.get("/returnees/")
    assert response.status_code == 302 and "/login" in response.location
    assert actions()[-2:] == ["login", "logout"]


def test_logout_needs_post(users, browser_for):
    browser = browser_for(users["admin"])
    assert browser.get("/logout").status_code == 405


def test_wrong_password_is_refused_with_a_clear_message(users, browser_for):
    response = browser_for().login("admin@example.org", "wrong password here")
    assert response.status_code == 200
    assert "The e-mail address or the password is wrong." in response.get_data(as_text=True)
    assert actions()[-1] == "login.failed"


def test_unknown_email_gets_the_same_message(users, browser_for):
    response = browser_for().login("nobody@example.org", "whatever password")
    assert "The e-mail address or the password is wrong." in response.get_data(as_text=True)
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry.action == "login.failed" and entry.user_id is None and entry.actor == "nobody@example.org"


def test_lockout_after_repeated_failures(app, users, browser_for):
    app.config["LOGIN_MAX_FAILURES"] = 3
    browser = browser_for()
    for _attempt in range(2):
        assert "password is wrong" in browser.login("staff@iom.example", "bad password 123").get_data(as_text=True)
    page = browser.login("staff@iom.example", "bad password 123").get_data(as_text=True)
    assert "this account is locked until" in page
    # Even the right password is refused while locked.
    response = browser.login("staff@iom.example", PASSWORD)
    assert response.status_code == 200 and "locked until" in response.get_data(as_text=True)
    db.session.refresh(users["iom"])
    assert users["iom"].locked_until > utcnow() + timedelta(minutes=14)
    assert actions()[-1] == "login.refused"
    # When the lock has run out, the right password works again.
    users["iom"].locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert browser.login("staff@iom.example", PASSWORD).status_code == 302


def test_admin_unlocks_an_account(app, users, browser_for):
    users["iom"].locked_until = utcnow() + timedelta(minutes=10)
    db.session.commit()
    admin = browser_for(users["admin"])
    assert "Unlock" in admin.get("/admin/users").get_data(as_text=True)
    assert admin.post(f"/admin/users/{users['iom'].id}/unlock").status_code == 302
    assert browser_for().login("staff@iom.example").status_code == 302


def test_login_is_rate_limited_per_address(app, users, browser_for, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")  # for this test only
    browser = browser_for()
    statuses = [browser.login("nobody@example.org", "x" * 12).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert "Too many attempts" in browser.login("admin@example.org").get_data(as_text=True)


def test_post_without_csrf_token_is_rejected(users, browser_for):
    browser = browser_for(users["admin"])
    response = browser.client.post("/logout", data={})
    assert response.status_code == 400
    assert "The form has expired" in response.get_data(as_text=True)
    response = browser.client.post("/login", data={"email": "admin@example.org", "password": PASSWORD})
    assert response.status_code == 400


def test_post_with_forged_csrf_token_is_rejected(users, returnees, browser_for):
    browser = browser_for(users["admin"])
    response = browser.post("/returnees/GE-C-001/do-not-contact", {"csrf_token": "forged", "dnc-csrf_token": "forged", "value": "1"})
    assert response.status_code == 400
    db.session.refresh(returnees["caritas-ge"])
    assert returnees["caritas-ge"].do_not_contact is False


def test_open_redirect_after_login_is_refused(users, browser_for):
    browser = browser_for()
    token = browser.csrf_token()
    with browser.app.app_context():
        response = browser.client.post("/login?next=https://evil.example/", data={
            "csrf_token": token, "email": "admin@example.org", "password": PASSWORD})
    assert response.location == "/"
    browser = browser_for()
    token = browser.csrf_token()
    with browser.app.app_context():
        response = browser.client.post("/login?next=/admin/users", data={
            "csrf_token": token, "email": "admin@example.org", "password": PASSWORD})
    assert response.location == "/admin/users"


def test_session_cookie_is_hardened(users, browser_for):
    response = browser_for().login("admin@example.org")
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("monitor_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_security_headers(app, browser_for):
    response = browser_for().get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_password_change_ends_other_sessions(users, browser_for):
    first = browser_for(users["caritas"])
    second = browser_for(users["caritas"])
    response = second.post("/account", {"pw-current_password": PASSWORD, "pw-new_password": "a new long password",
                                        "pw-confirm": "a new long password", "pw-submit": "1"})
    assert response.status_code == 302
    assert second.get("/returnees/").status_code == 200  # the session that changed it stays
    assert first.get("/returnees/").status_code == 302  # the other one is logged out
    assert browser_for().login("staff@caritas.example", "a new long password").status_code == 302


def test_password_change_checks_current_password_and_length(users, browser_for):
    browser = browser_for(users["caritas"])
    page = browser.post("/account", {"pw-current_password": "not it", "pw-new_password": "a new long password",
                                     "pw-confirm": "a new long password", "pw-submit": "1"}).get_data(as_text=True)
    assert "The current password is wrong." in page
    page = browser.post("/account", {"pw-current_password": PASSWORD, "pw-new_password": "short",
                                     "pw-confirm": "short", "pw-submit": "1"}).get_data(as_text=True)
    assert "at least 12 characters" in page


def test_interface_language_follows_choice(users, browser_for):
    browser = browser_for()
    assert browser.post("/language", {"locale": "fr", "next": "/login"}).location == "/login"
    assert '<html lang="fr" dir="ltr">' in browser.get("/login").get_data(as_text=True)
    browser = browser_for(users["analyst"])
    browser.post("/language", {"locale": "nl"})
    db.session.refresh(users["analyst"])
    assert users["analyst"].locale == "nl"


def test_accept_language_picks_staff_language(app, browser_for):
    page = browser_for().client.get("/login", headers={"Accept-Language": "nl-BE,nl;q=0.9"}).get_data(as_text=True)
    assert '<html lang="nl" dir="ltr">' in page
