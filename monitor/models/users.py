from __future__ import annotations

import secrets
from datetime import datetime

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.extensions import db
from monitor.models.organisations import Organisation
from monitor.models.types import EncryptedText, UTCDateTime, utcnow

_STRONG = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
# Only for the test suite (MONITOR_ENV=testing), which creates hundreds of accounts.
_FAST_FOR_TESTS = PasswordHasher.from_parameters(profiles.CHEAPEST)


def _hasher() -> PasswordHasher:
    return _FAST_FOR_TESTS if has_app_context() and current_app.config.get("TESTING") else _STRONG

MIN_PASSWORD_LENGTH = 12

# Roles limited to one organisation's cases: partner staff, and a reintegration partner's
# coordinator (who also manages that partner's local partners and users).
ORGANISATION_ROLES = frozenset({"partner", "coordinator"})
# Roles that must log in with a second factor when TOTP_REQUIRED is on.
SECOND_FACTOR_ROLES = frozenset({"admin", "analyst", "coordinator"})


def _new_session_token() -> str:
    return secrets.token_urlsafe(16)


class User(db.Model):
    """A staff member: programme administrator, analyst, or partner staff."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))  # codes.ROLES
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of the login cookie: changing it (new password, deactivation) ends every session.
    session_token: Mapped[str] = mapped_column(String(32), default=_new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The second factor (monitor/auth/second_factor.py): the TOTP secret, encrypted at rest, is
    # written when enrolment starts and counts only once a first code confirmed it
    # (totp_enabled_at); the last time step accepted, so a code is never accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    organisation: Mapped[Organisation | None] = relationship()

    @property
    def partner_scoped(self) -> bool:
        """Limited to an organisation's cases (partner staff, coordinators)."""
        return self.role in ORGANISATION_ROLES

    @property
    def has_second_factor(self) -> bool:
        return self.totp_enabled_at is not None

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher().hash(password)
        self.end_sessions()

    def end_sessions(self) -> None:
        self.session_token = _new_session_token()

    def check_password(self, password: str) -> bool:
        hasher = _hasher()
        try:
            hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if hasher.check_needs_rehash(self.password_hash):
            self.password_hash = hasher.hash(password)
        return True

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


def verify_dummy_password(password: str) -> None:
    """Spend the time of a real check, so a login for an unknown e-mail is not faster."""
    try:
        _hasher().verify(_DUMMY_HASH, password)
    except VerificationError:
        pass


_DUMMY_HASH = _STRONG.hash(secrets.token_urlsafe(16))


class LoginThrottle(db.Model):
    """Failed logins for one e-mail address (known or not: the same answer for both) from one
    client address. After LOGIN_MAX_FAILURES the next attempt waits, longer after each failure;
    a stranger elsewhere cannot lock an account out, and nobody learns which e-mails have one.
    Both keys are hashes: no e-mail or address in clear here."""

    __tablename__ = "login_throttles"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the e-mail, lower-cased
    address: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the client address
    failures: Mapped[int] = mapped_column(Integer, default=0)
    wait_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(db.Model):
    """One of a user's one-time recovery codes (for a lost phone): shown once, stored as a salted
    SHA-256 (the codes are random, so a fast hash with a salt is enough), used at most once
    (`used_at` set by one UPDATE ... WHERE used_at IS NULL)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
