"""Logging in, with a progressive wait per e-mail address and client address after repeated
failures (LoginThrottle): the same answers whether an account exists or not, and no lock a
stranger can put on someone else's account."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update

from monitor import audit
from monitor.extensions import conflict_insert, db
from monitor.models import LoginThrottle, User
from monitor.models.types import utcnow
from monitor.models.users import verify_dummy_password

FIRST_WAIT = timedelta(seconds=30)


@dataclass
class LoginResult:
    user: User | None
    wait_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None and self.wait_until is None


def user_for_session_id(session_id: str) -> User | None:
    """The active account a session's id ("id:session token", User.get_id) still opens; None once
    its sessions were ended (logout, password change, deactivation, a second factor reset)."""
    user_pk, _sep, token = str(session_id).partition(":")
    if not user_pk.isdigit():
        return None
    user = db.session.get(User, int(user_pk))
    if user is None or not user.active or user.session_token != token:
        return None
    return user


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def account_key(email: str) -> str:
    return _digest(email.strip().lower())


def authenticate(email: str, password: str, address: str = "", now: datetime | None = None) -> LoginResult:
    """Check a login attempt from `address` and record it; commits, so a failure counts even if
    the request goes no further."""
    now = now or utcnow()
    key = {"account": account_key(email), "address": _digest(address or "unknown")}
    user = find_user_by_email(email)
    known = user is not None and user.active
    waiting = db.session.scalar(select(LoginThrottle.wait_until).where(
        LoginThrottle.account == key["account"], LoginThrottle.address == key["address"],
        LoginThrottle.wait_until > now))
    if waiting is not None:
        verify_dummy_password(password)  # the same time as a real check, known account or not
        audit.record("login.refused", user if known else None, user=user if known else None,
                     actor=None if known else email.strip()[:254], details={"reason": "waiting"})
        db.session.commit()
        return LoginResult(None, wait_until=waiting)
    if not known or not user.check_password(password):
        if not known:
            verify_dummy_password(password)
        wait_until = _count_failure(key, now)
        details = {"reason": "password" if known else "unknown"}
        if wait_until is not None:
            details["wait_seconds"] = int((wait_until - now).total_seconds())
        audit.record("login.failed", user if known else None, user=user if known else None,
                     actor=None if known else email.strip()[:254], details=details)
        db.session.commit()
        return LoginResult(None, wait_until=wait_until)
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.account == key["account"],
                                                   LoginThrottle.address == key["address"]))
    user.last_login_at = now
    # With a second factor the login is not done yet: "login.second_factor" follows its code.
    audit.record("login.password" if user.has_second_factor else "login", user, user=user)
    db.session.commit()
    return LoginResult(user)


def _count_failure(key: dict, now: datetime) -> datetime | None:
    """One more failure for (account, address), counted in the database (two attempts at once
    count twice); past LOGIN_MAX_FAILURES the wait doubles with each failure, up to
    LOGIN_LOCKOUT_MINUTES. Returns the end of the wait, if any."""
    db.session.execute(conflict_insert()(LoginThrottle).values(**key, failures=0).on_conflict_do_nothing())
    failures = db.session.scalar(
        update(LoginThrottle).where(LoginThrottle.account == key["account"], LoginThrottle.address == key["address"])
        .values(failures=LoginThrottle.failures + 1).returning(LoginThrottle.failures))
    beyond = failures - current_app.config["LOGIN_MAX_FAILURES"]
    if beyond < 0:
        return None
    longest = timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
    wait_until = now + min(FIRST_WAIT * 2 ** min(beyond, 20), longest)
    db.session.execute(update(LoginThrottle).where(
        LoginThrottle.account == key["account"], LoginThrottle.address == key["address"]).values(wait_until=wait_until))
    return wait_until


def clear_waits(user: User) -> int:
    """An admin lets the account log in again from everywhere at once (the code's wait too)."""
    clear_second_factor_waits(user)
    return db.session.execute(delete(LoginThrottle).where(LoginThrottle.account == account_key(user.email))).rowcount


def _second_factor_account(user: User) -> str:
    # Its own counter beside the password's: the password was right, the code is what is guessed.
    return _digest("second-factor:" + user.email.strip().lower())


def _second_factor_key(user: User, address: str) -> dict:
    return {"account": _second_factor_account(user), "address": _digest(address or "unknown")}


def second_factor_wait(user: User, address: str, now: datetime | None = None) -> datetime | None:
    """The end of the wait before the next code may be tried from `address`, if any."""
    key = _second_factor_key(user, address)
    return db.session.scalar(select(LoginThrottle.wait_until).where(
        LoginThrottle.account == key["account"], LoginThrottle.address == key["address"],
        LoginThrottle.wait_until > (now or utcnow())))


def count_second_factor_failure(user: User, address: str, now: datetime | None = None) -> datetime | None:
    """A wrong code at the login's second step: counted like a wrong password (LOGIN_MAX_FAILURES,
    then a doubling wait) and audited. Commits. Returns the end of the wait, if any."""
    now = now or utcnow()
    wait_until = _count_failure(_second_factor_key(user, address), now)
    details = {"reason": "code"}
    if wait_until is not None:
        details["wait_seconds"] = int((wait_until - now).total_seconds())
    audit.record("login.failed", user, user=user, details=details)
    db.session.commit()
    return wait_until


def clear_second_factor_waits(user: User) -> None:
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.account == _second_factor_account(user)))
