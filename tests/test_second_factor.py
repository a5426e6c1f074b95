"""The second factor: enrolment (QR code, secret, recovery codes shown once), the login's second
step (a code accepted once, recovery codes used once, wrong codes throttled), TOTP_REQUIRED
sending admins, analysts and coordinators to enrolment, and the reset of a lost phone."""
from __future__ import annotations

import re
import threading
import urllib.parse
import urllib.request

import pyotp
import pytest
from sqlalchemy import func, select, text

from monitor.auth import second_factor
from monitor.config import ConfigError, load_config
from monitor.extensions import db
from monitor.models import AuditEntry, RecoveryCode, User
from tests.conftest import PASSWORD, Browser
from tests.test_config import PRODUCTION
from tests.test_double_tap import _opened

T0 = 1_900_000_020  # the start of a 30-second time step


@pytest.fixture
def clock(monkeypatch):
    """The clock codes are checked against, moved by the test (never the wall clock)."""
    now = {"t": T0}
    monkeypatch.setattr(second_factor, "now", lambda: now["t"])
    return now


def code_at(user, t):
    return pyotp.TOTP(user.totp_secret).at(t)


def enrol(user, t=T0) -> list[str]:
    second_factor.pending_secret(user)
    codes = second_factor.confirm_enrolment(user, code_at(user, t))
    assert codes and user.has_second_factor
    return codes


def last_audit(action):
    return db.session.scalar(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc()))


def csrf_of(response) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True)).group(1)


def password_step(app, user) -> Browser:
    browser = Browser(app)
    response = browser.login(user.email)
    assert response.status_code == 302 and response.location.endswith("/login/code"), response.location
    return browser


def code_step(browser, code):
    return browser.post("/login/code", {"code": code})


def logged_in(app, user, t) -> Browser:
    """Both steps, with the code of time `t`."""
    browser = password_step(app, user)
    assert code_step(browser, code_at(user, t)).status_code == 302
    return browser


# -- enrolment --------------------------------------------------------------------------------

def test_enrolment_shows_a_qr_code_and_the_secret_then_the_recovery_codes_once(app, users, browser_for, clock):
    admin = users["admin"]
    browser = browser_for(admin)
    page = browser.get("/account/second-factor").get_data(as_text=True)
    db.session.refresh(admin)
    secret = admin.totp_secret
    assert "<svg" in page and secret in page and not admin.has_second_factor
    # The page again: the same secret (an app set up from the first page keeps working).
    assert secret in browser.get("/account/second-factor").get_data(as_text=True)
    # Encrypted at rest: the column holds no trace of the secret.
    stored = db.session.scalar(text("SELECT totp_secret FROM users WHERE id = :id"), {"id": admin.id})
    assert stored and secret not in stored

    wrong = browser.post("/account/second-factor", {"code": "000000" if code_at(admin, T0) != "000000" else "111111"})
    assert "The code is wrong" in wrong.get_data(as_text=True)
    db.session.refresh(admin)
    assert not admin.has_second_factor

    answer = browser.post("/account/second-factor", {"code": code_at(admin, T0)})
    shown = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", answer.get_data(as_text=True))
    assert answer.status_code == 200 and len(shown) == 10 and len(set(shown)) == 10
    db.session.refresh(admin)
    assert admin.has_second_factor
    hashes = db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == admin.id)).all()
    assert len(hashes) == 10 and not set(shown) & set(hashes)
    assert last_audit("user.second_factor.enrol").object_id == str(admin.id)
    # Shown once: the page afterwards says how many are left, never the codes.
    later = browser.get("/account/second-factor").get_data(as_text=True)
    assert not any(code in later for code in shown) and "Recovery codes left: 10." in later


def test_new_recovery_codes_replace_the_old_ones(app, users, clock):
    admin = users["admin"]
    old = enrol(admin)
    clock["t"] = T0 + 30
    browser = logged_in(app, admin, T0 + 30)
    clock["t"] = T0 + 60
    answer = browser.post("/account/second-factor/recovery-codes", {"code": code_at(admin, T0 + 60)})
    new = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", answer.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert last_audit("user.second_factor.recovery_codes").user_id == admin.id
    assert second_factor.verify(admin, old[0]) is None
    assert second_factor.verify(admin, new[0]) == "recovery"
    db.session.commit()
    # The same code from the app again: refused (replay), no third set.
    again = browser.post("/account/second-factor/recovery-codes", {"code": code_at(admin, T0 + 60)})
    assert "The code is wrong or was used already" in again.get_data(as_text=True)
    assert second_factor.unused_recovery_codes(admin) == 9


# -- logging in -------------------------------------------------------------------------------

def test_login_needs_a_code_once_enrolled_and_a_code_works_once(app, users, clock):
    analyst = users["analyst"]
    enrol(analyst, T0)
    browser = password_step(app, analyst)
    # The password alone opens nothing.
    assert "/login" in browser.get("/returnees/").location
    # The code that confirmed the enrolment (the same time step): a replay, refused.
    refused = code_step(browser, code_at(analyst, T0))
    assert refused.status_code == 200 and "The code is wrong or was used already" in refused.get_data(as_text=True)
    clock["t"] = T0 + 30
    response = code_step(browser, code_at(analyst, T0 + 30))
    assert response.status_code == 302 and browser.get("/returnees/").status_code == 200
    entry = last_audit("login.second_factor")
    assert entry.user_id == analyst.id and entry.details == {"second_factor_method": "totp"}
    assert last_audit("login.password").user_id == analyst.id and last_audit("login") is None
    # The same code in another login a moment later: refused.
    other = password_step(app, analyst)
    assert code_step(other, code_at(analyst, T0 + 30)).status_code == 200
    assert "/login" in other.get("/returnees/").location
    # The next step's code: accepted (and a phone a step behind still works).
    clock["t"] = T0 + 90
    assert code_step(other, code_at(analyst, T0 + 60)).status_code == 302


def test_a_recovery_code_logs_in_once(app, users, clock):
    analyst = users["analyst"]
    codes = enrol(analyst)
    browser = password_step(app, analyst)
    # Typed as read from paper: capitals, spaces, no hyphen.
    response = code_step(browser, " " + codes[3].upper().replace("-", " ") + " ")
    assert response.status_code == 302
    assert "9 are left" in browser.get("/dashboard/").get_data(as_text=True)
    assert last_audit("login.second_factor").details == {"second_factor_method": "recovery"}
    again = password_step(app, analyst)
    assert code_step(again, codes[3]).status_code == 200
    assert second_factor.unused_recovery_codes(analyst) == 9


def test_the_second_step_expires_and_a_changed_password_voids_it(app, users, clock):
    analyst = users["analyst"]
    enrol(analyst)
    browser = password_step(app, analyst)
    clock["t"] = T0 + second_factor_pending_seconds() + 1
    late = code_step(browser, code_at(analyst, clock["t"]))
    assert late.status_code == 302 and "/login" in late.location and late.location.endswith("/login")
    clock["t"] = T0 + 600
    browser = password_step(app, analyst)
    analyst.set_password("a different long passphrase")
    db.session.commit()
    voided = code_step(browser, code_at(analyst, T0 + 600))
    assert voided.location.endswith("/login")
    assert "/login" in browser.get("/returnees/").location


def second_factor_pending_seconds():
    from monitor.auth.controllers import PENDING_SECONDS

    return PENDING_SECONDS


def test_wrong_codes_are_throttled_like_wrong_passwords(app, users, clock):
    analyst = users["analyst"]
    enrol(analyst)
    right = code_at(analyst, T0 + 30)
    wrong = "123456" if right != "123456" else "654321"
    browser = password_step(app, analyst)
    clock["t"] = T0 + 30
    for attempt in range(app.config["LOGIN_MAX_FAILURES"]):
        answer = code_step(browser, wrong).get_data(as_text=True)
        assert ("Too many failed attempts" if attempt == app.config["LOGIN_MAX_FAILURES"] - 1
                else "The code is wrong") in answer
    # Past the limit the right code waits too.
    waiting = code_step(browser, right)
    assert "Too many failed attempts" in waiting.get_data(as_text=True)
    assert "/login" in browser.get("/returnees/").location
    failures = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "login.failed")).all()
    assert [entry.details["reason"] for entry in failures].count("code") >= app.config["LOGIN_MAX_FAILURES"]
    # An admin's "let log in now" ends the code's wait as well.
    from monitor.auth.operations import clear_waits

    clear_waits(analyst)
    db.session.commit()
    assert code_step(browser, right).status_code == 302


def test_the_same_code_sent_at_once_logs_in_once(app, users, server, clock, monkeypatch):
    """Six logins that passed the password send the same code at the same moment (a code seen
    over a shoulder and raced): one gets in. The same for a recovery code."""
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 100)  # the losers' failures must not make the winner wait
    analyst = users["analyst"]
    codes = enrol(analyst)
    clock["t"] = T0 + 30
    for code in (code_at(analyst, T0 + 30), codes[0]):
        openers = []
        for _ in range(6):
            opener, csrf = _opened(f"{server}/login")
            try:
                opener.open(f"{server}/login", data=urllib.parse.urlencode(
                    {"csrf_token": csrf, "email": analyst.email, "password": PASSWORD}).encode())
            except urllib.error.HTTPError as answer:
                assert answer.code == 302
            page = opener.open(f"{server}/login/code").read().decode()
            csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
            openers.append((opener, urllib.parse.urlencode({"csrf_token": csrf, "code": code}).encode()))
        statuses, barrier = [], threading.Barrier(len(openers))

        def press(opener, body):
            barrier.wait()
            try:
                statuses.append(opener.open(f"{server}/login/code", data=body).status)
            except urllib.error.HTTPError as answer:
                statuses.append(answer.code)

        threads = [threading.Thread(target=press, args=pair) for pair in openers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200] * 5 + [302], (code, statuses)
    db.session.expire_all()
    assert second_factor.unused_recovery_codes(analyst) == 9
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "login.second_factor")) == 2


# -- required ---------------------------------------------------------------------------------

def test_required_roles_are_sent_to_enrolment_until_they_have_one(app, users, clock, monkeypatch):
    monkeypatch.setitem(app.config, "TOTP_REQUIRED", True)
    for role in ("admin", "analyst", "coordinator"):
        browser = Browser(app)
        response = browser.login(users[role].email)
        assert response.location.endswith("/account/second-factor"), role
        for path in ("/returnees/", "/dashboard/", "/account", "/admin/users"):
            assert browser.get(path).location.endswith("/account/second-factor"), (role, path)
        assert browser.get("/api/v1/").status_code == 403
        page = browser.get("/account/second-factor")
        assert "Your role requires a second factor" in page.get_data(as_text=True)
    # Partner staff may set one up, and are not made to.
    partner = Browser(app)
    assert partner.login(users["caritas"].email).location.endswith("/")
    assert partner.get("/returnees/").status_code == 200

    analyst = users["analyst"]
    browser = Browser(app)
    browser.login(analyst.email)
    page = browser.get("/account/second-factor")
    db.session.refresh(analyst)
    done = browser.post("/account/second-factor", {"code": code_at(analyst, T0), "csrf_token": csrf_of(page)})
    assert done.status_code == 200
    assert browser.get("/returnees/").status_code == 200  # this session has shown both factors


def test_totp_required_setting(tmp_path):
    assert load_config({}, instance_path=tmp_path)["TOTP_REQUIRED"] is False
    assert load_config({"TOTP_REQUIRED": "true"}, instance_path=tmp_path)["TOTP_REQUIRED"] is True
    assert load_config(PRODUCTION, instance_path=tmp_path)["TOTP_REQUIRED"] is True
    assert load_config(PRODUCTION | {"TOTP_REQUIRED": "false"}, instance_path=tmp_path)["TOTP_REQUIRED"] is False
    with pytest.raises(ConfigError, match="TOTP_REQUIRED must be true or false"):
        load_config({"TOTP_REQUIRED": "maybe"}, instance_path=tmp_path)


# -- a lost phone -----------------------------------------------------------------------------

def test_another_admin_resets_a_lost_second_factor(app, users, browser_for, clock):
    analyst, admin = users["analyst"], users["admin"]
    enrol(analyst)
    enrol(admin)
    clock["t"] = T0 + 30
    session_of_analyst = logged_in(app, analyst, T0 + 30)
    assert session_of_analyst.get("/returnees/").status_code == 200
    browser = logged_in(app, admin, T0 + 30)
    url = f"/admin/users/{analyst.id}/second-factor/reset"
    assert "Reset the second factor" in browser.get(f"/admin/users/{analyst.id}").get_data(as_text=True)
    empty = browser.post(url, {"reason": "  "})
    assert empty.status_code == 400 and "Say why" in empty.get_data(as_text=True)
    db.session.refresh(analyst)
    assert analyst.has_second_factor
    done = browser.post(url, {"reason": "phone lost on mission"})
    assert done.status_code == 302
    db.session.expire_all()
    analyst = db.session.get(User, analyst.id)
    assert not analyst.has_second_factor and analyst.totp_secret is None
    assert second_factor.unused_recovery_codes(analyst) == 0
    entry = last_audit("user.second_factor.reset")
    assert (entry.user_id, entry.object_id, entry.details) == (admin.id, str(analyst.id),
                                                               {"reason": "phone lost on mission"})
    # The analyst's session ended; the next login asks for the password only, then enrolment.
    assert "/login" in session_of_analyst.get("/returnees/").location
    # Never one's own.
    own = browser.post(f"/admin/users/{admin.id}/second-factor/reset", {"reason": "lost"})
    assert own.status_code == 400 and "Another administrator" in own.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.has_second_factor


def test_a_coordinator_resets_its_own_partners_staff_only(app, users, browser_for, clock):
    for role in ("caritas-ge", "iom"):
        enrol(users[role])
    coordinator = browser_for(users["coordinator"])
    ok = coordinator.post(f"/admin/users/{users['caritas-ge'].id}/second-factor/reset", {"reason": "new phone"})
    assert ok.status_code == 302
    foreign = coordinator.post(f"/admin/users/{users['iom'].id}/second-factor/reset", {"reason": "new phone"})
    assert foreign.status_code == 404
    db.session.expire_all()
    assert not db.session.get(User, users["caritas-ge"].id).has_second_factor
    assert db.session.get(User, users["iom"].id).has_second_factor


def test_reset_from_the_command_line(app, users, clock):
    from tests.test_organisations_cli import invoke

    enrol(users["admin"])
    result = invoke(app, "reset-second-factor", users["admin"].email, "--reason", "only admin, phone lost")
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert not db.session.get(User, users["admin"].id).has_second_factor
    assert last_audit("user.second_factor.reset").actor == "cli"
    assert invoke(app, "reset-second-factor", "nobody@example.org", "--reason", "x").exit_code == 1
    again = invoke(app, "reset-second-factor", users["admin"].email, "--reason", "again")
    assert again.exit_code == 1 and "has no second factor to reset" in again.output


def _pressed_at_once(server, email, path, form, action=None, times=6) -> list[int]:
    """Log in once (password only: not required here), open `path`, and send its `form` (to
    `action`, else `path`) `times` times at once from that one session (a double tap)."""
    from tests.test_double_tap import _at_once, _logged_in

    opener = _logged_in(server, email)
    page = opener.open(f"{server}{path}").read().decode()
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    return _at_once(opener, f"{server}{action or path}",
                    urllib.parse.urlencode({"csrf_token": csrf, **form}).encode(), times)


def test_enrolment_confirmed_several_times_at_once_makes_one_set_of_codes(app, users, server, clock):
    analyst = users["analyst"]
    second_factor.pending_secret(analyst)
    statuses = _pressed_at_once(server, analyst.email, "/account/second-factor", {"code": code_at(analyst, T0)})
    # One answer shows the codes; the others say it was set up already, or (arriving after it)
    # show the page as it now is: never an error, never a second set.
    assert len(statuses) == 6 and set(statuses) <= {200, 302}, statuses
    db.session.expire_all()
    assert second_factor.unused_recovery_codes(analyst) == 10
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "user.second_factor.enrol")) == 1


def test_a_reset_sent_several_times_at_once_is_recorded_once(app, users, server, clock):
    enrol(users["analyst"])
    analyst = users["analyst"]
    statuses = _pressed_at_once(server, users["admin"].email, f"/admin/users/{analyst.id}", {"reason": "phone lost"},
                                action=f"/admin/users/{analyst.id}/second-factor/reset")
    assert statuses == [302] * 6, statuses
    db.session.expire_all()
    assert not db.session.get(User, users["analyst"].id).has_second_factor
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "user.second_factor.reset")) == 1
