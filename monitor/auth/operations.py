"""Logging in and out, with per-account lockout after repeated failures."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from monitor import audit
from monitor.extensions import db
from monitor.models import User
from monitor.models.types import utcnow
from monitor.models.users import verify_dummy_password


@dataclass
class LoginResult:
    user: User | None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None and self.locked_until is None


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(email: str, password: str, now: datetime | None = None) -> LoginResult:
    """Check a login attempt and record it; commits, so a failure counts even if the request
    goes no further."""
    now = now or utcnow()
    user = find_user_by_email(email)
    if user is None or not user.active:
        verify_dummy_password(password)
        audit.record("login.failed", user=None, actor=email.strip()[:254], details={"reason": "unknown"})
        db.session.commit()
        return LoginResult(None)
    if user.locked_until and user.locked_until > now:
        audit.record("login.refused", user, user=user, details={"reason": "locked"})
        db.session.commit()
        return LoginResult(user, locked_until=user.locked_until)
    if not user.check_password(password):
        user.failed_logins += 1
        details = {"reason": "password", "failures": user.failed_logins}
        locked = None
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            locked = user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
            user.failed_logins = 0
            details["locked"] = True
        audit.record("login.failed", user, user=user, details=details)
        db.session.commit()
        return LoginResult(None, locked_until=locked)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record("login", user, user=user)
    db.session.commit()
    return LoginResult(user)
