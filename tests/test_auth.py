"""Logging in and out, lockout, throttling, CSRF, session hardening."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from monitor.extensions import db
from monitor.models import AuditEntry
from monitor.models.types import utcnow
from tests.conftest import PASSWORD, Browser


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


def _login_from(app, address, email, password):
    """A login POST as a browser at `address` would send it."""
    browser = Browser(app)
    token = browser.csrf_token()
    with app.app_context():
        return browser.client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                                   environ_base={"REMOTE_ADDR": address})


def _throttle(email):
    from monitor.auth.operations import account_key
    from monitor.models import LoginThrottle

    db.session.expire_all()
    return db.session.scalars(select(LoginThrottle).where(LoginThrottle.account == account_key(email))).all()


@pytest.mark.parametrize("email", ["staff@iom.example", "nobody@iom.example"])
def test_repeated_failures_make_that_address_wait_with_the_same_words_for_any_email(app, users, email, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 3)
    for _attempt in range(2):
        page = _login_from(app, "203.0.113.7", email, "bad password 123").get_data(as_text=True)
        assert "password is wrong" in page
    page = _login_from(app, "203.0.113.7", email, "bad password 123").get_data(as_text=True)
    assert "Too many failed attempts with this e-mail address: wait until" in page
    # Even the right password waits, from that address; the words do not tell whether the account exists.
    response = _login_from(app, "203.0.113.7", email, PASSWORD)
    assert response.status_code == 200 and "wait until" in response.get_data(as_text=True)
    assert actions()[-1] == "login.refused"
    [throttle] = _throttle(email)
    assert throttle.failures == 3 and utcnow() + timedelta(seconds=25) < throttle.wait_until < utcnow() + timedelta(seconds=35)
    assert email not in throttle.account + throttle.address and "203.0.113" not in throttle.address  # hashes only
    # A stranger's failures elsewhere never keep the account's owner out.
    if email == "staff@iom.example":
        assert _login_from(app, "198.51.100.2", email, PASSWORD).status_code == 302


def test_the_wait_doubles_with_each_failure_up_to_the_longest(app, users, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 1)
    monkeypatch.setitem(app.config, "LOGIN_LOCKOUT_MINUTES", 2)
    from monitor.auth.operations import authenticate

    moment = utcnow()
    waits = []
    for step in range(5):
        result = authenticate("staff@iom.example", "bad password 123", address="203.0.113.7", now=moment)
        waits.append(round((result.wait_until - moment).total_seconds()))
        moment = result.wait_until + timedelta(seconds=1)
    assert waits == [30, 60, 120, 120, 120]
    # When the wait has run out, the right password works and clears the count.
    assert authenticate("staff@iom.example", PASSWORD, address="203.0.113.7", now=moment).ok
    assert _throttle("staff@iom.example") == []


def test_failures_at_once_all_count(app, users):
    import threading

    from monitor.auth.operations import authenticate

    barrier = threading.Barrier(4)

    def attempt():
        with app.app_context():
            barrier.wait()
            authenticate("staff@iom.example", "bad password 123", address="203.0.113.9")
            db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [throttle] = _throttle("staff@iom.example")
    assert throttle.failures == 4


def test_admin_lets_a_waiting_account_log_in_again(app, users, browser_for, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 1)
    _login_from(app, "203.0.113.7", "staff@iom.example", "bad password 123")
    admin = browser_for(users["admin"])
    assert "Waiting after failed logins" in admin.get("/admin/users").get_data(as_text=True)
    assert admin.post(f"/admin/users/{users['iom'].id}/unlock").status_code == 302
    assert _throttle("staff@iom.example") == []
    assert _login_from(app, "203.0.113.7", "staff@iom.example", PASSWORD).status_code == 302


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


@pytest.mark.parametrize("password, problem", [
    ("password1234", "too common or too easy to guess"),
    ("qwertyuiop12", "too common or too easy to guess"),
    ("harbour-lantern-2026", None),
    ("staff@caritas.example!", "must not contain the e-mail address"),
    ("mystaffpassword", "must not contain the e-mail address"),
])
def test_a_new_password_is_not_common_nor_the_email(users, browser_for, password, problem):
    browser = browser_for(users["caritas"])
    response = browser.post("/account", {"pw-current_password": PASSWORD, "pw-new_password": password,
                                         "pw-confirm": password, "pw-submit": "1"})
    if problem is None:
        assert response.status_code == 302
    else:
        assert response.status_code == 200 and problem in response.get_data(as_text=True)
        assert browser_for().login("staff@caritas.example", PASSWORD).status_code == 302  # unchanged


def test_the_admin_and_the_cli_apply_the_same_password_rules(app, users, browser_for):
    admin = browser_for(users["admin"])
    page = admin.post("/admin/users/new", {"email": "z@example.org", "role": "admin",
                                           "password": "password1234"}).get_data(as_text=True)
    assert "too common or too easy to guess" in page
    result = app.test_cli_runner().invoke(args=["create-user", "other@example.org", "--role", "admin",
                                                "--password-stdin"], input="other@example.org-x\n")
    assert result.exit_code == 1 and "must not contain the e-mail address" in result.output
