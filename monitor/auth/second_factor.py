"""The second factor: a TOTP code from an authenticator app (RFC 6238, through pyotp), or one of
ten one-time recovery codes for a lost phone.

- Enrolment: a secret is made (encrypted at rest), shown as a QR code and in text, and counts only
  once a first code from the app confirms it; the recovery codes are made then and shown once.
- Logging in: after the password, a code. A code is accepted once: the time step it belongs to
  is stored and a code of that step or an earlier one is refused (one UPDATE ... WHERE
  totp_last_step < step: two requests with the same code at once, one wins). A recovery code is
  used by one UPDATE ... WHERE used_at IS NULL: the same code twice at once works once.
- A lost phone: another administrator resets the second factor (with a reason, audited); the user
  enrols again at the next login.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from monitor import audit
from monitor.extensions import db
from monitor.models import RecoveryCode, User
from monitor.models.types import utcnow
from monitor.models.users import SECOND_FACTOR_ROLES

ISSUER = "Return monitor"
RECOVERY_CODES = 10
# No 0/o, 1/l/i: a code read from paper is typed right.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
VALID_WINDOW = 1  # the step before and after too: a phone's clock a little off still works


def now() -> float:
    """The clock codes are checked against (tests replace it)."""
    return time.time()


def required_for(user: User) -> bool:
    """Whether `user` must have a second factor before using the app."""
    return bool(current_app.config.get("TOTP_REQUIRED")) and user.role in SECOND_FACTOR_ROLES


def needs_enrolment(user: User) -> bool:
    return required_for(user) and not user.has_second_factor


# -- enrolment ---------------------------------------------------------------------------------

def pending_secret(user: User) -> str:
    """The secret of an enrolment under way, made on first need. Two pages opened at once get the
    same one (the UPDATE writes only where none is stored yet)."""
    if user.totp_secret is None:
        db.session.execute(update(User).where(User.id == user.id, User.totp_secret.is_(None))
                           .values(totp_secret=pyotp.random_base32()))
        db.session.commit()
        db.session.refresh(user)
    return user.totp_secret


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str, title: str) -> str:
    """The enrolment QR code as an inline SVG element (made here: no outside service sees it)."""
    return segno.make_qr(uri, error="m").svg_inline(scale=5, border=2, dark="#000", light="#fff", title=title)


def _matching_step(secret: str, code: str, at: float | None = None) -> int | None:
    code = "".join(code.split())
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = int((now() if at is None else at) // totp.interval)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim_step(user: User, step: int) -> bool:
    """Record `step` as used; False when it (or a later one) was used already: a replay."""
    claimed = db.session.execute(
        update(User).where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)).rowcount
    return claimed == 1


def confirm_enrolment(user: User, code: str) -> list[str] | None:
    """The first code from the app: the second factor counts from now on, and the recovery codes
    are made (returned to be shown once). None: the code is wrong, or enrolment was confirmed
    already (the same form sent twice: the codes were shown the first time). Commits."""
    if user.totp_secret is None or user.has_second_factor:
        return None
    step = _matching_step(user.totp_secret, code)
    if step is None:
        return None
    enabled = db.session.execute(
        update(User).where(User.id == user.id, User.totp_enabled_at.is_(None))
        .values(totp_enabled_at=utcnow(), totp_last_step=step)).rowcount
    if enabled != 1:
        db.session.rollback()
        return None
    codes = _replace_recovery_codes(user)
    audit.record("user.second_factor.enrol", user, user=user)
    db.session.commit()
    db.session.refresh(user)
    return codes


def _digest(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{normalise_recovery_code(code)}".encode()).hexdigest()


def normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        code = f"{raw[:5]}-{raw[5:]}"
        salt = secrets.token_hex(8)
        db.session.add(RecoveryCode(user_id=user.id, salt=salt, code_hash=_digest(salt, code)))
        codes.append(code)
    return codes


def new_recovery_codes(user: User, code: str) -> list[str] | None:
    """A fresh set of recovery codes (the old ones stop working), against a current code from the
    app. None when the code is wrong or used already. Commits."""
    if not user.has_second_factor:
        return None
    step = _matching_step(user.totp_secret, code)
    if step is None or not _claim_step(user, step):
        db.session.rollback()
        return None
    codes = _replace_recovery_codes(user)
    audit.record("user.second_factor.recovery_codes", user, user=user)
    db.session.commit()
    return codes


def unused_recovery_codes(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


# -- logging in -------------------------------------------------------------------------------

def verify(user: User, code: str) -> str | None:
    """Check the second step of a login: "totp" or "recovery" for the kind of code accepted, None
    for a wrong code or one used before. Does not commit (the caller records the outcome)."""
    if not user.has_second_factor:
        return None
    step = _matching_step(user.totp_secret, code)
    if step is not None:
        return "totp" if _claim_step(user, step) else None
    wanted = normalise_recovery_code(code)
    if len(wanted) != 10:
        return None
    for row in db.session.execute(select(RecoveryCode.id, RecoveryCode.salt, RecoveryCode.code_hash).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))):
        if hmac.compare_digest(_digest(row.salt, wanted), row.code_hash):
            used = db.session.execute(update(RecoveryCode).where(
                RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None)).values(used_at=utcnow())).rowcount
            return "recovery" if used == 1 else None
    return None


# -- a lost phone -----------------------------------------------------------------------------

def reset(user: User, *, reason: str, by: User | None = None, actor: str | None = None) -> bool:
    """Remove `user`'s second factor and recovery codes; their sessions end, and they enrol again
    at their next login. Audited with the reason. False when there was nothing to reset (the same
    reset sent twice: one entry). Does not commit."""
    removed = db.session.execute(
        update(User).where(User.id == user.id, or_(User.totp_secret.is_not(None), User.totp_enabled_at.is_not(None)))
        .values(totp_secret=None, totp_enabled_at=None, totp_last_step=None)).rowcount
    if removed != 1:
        return False
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    user.end_sessions()
    audit.record("user.second_factor.reset", user, user=by, actor=actor, details={"reason": reason})
    return True
