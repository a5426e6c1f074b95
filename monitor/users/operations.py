"""Creating and changing staff accounts: one path for the admin page and the CLI."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import func, select
from zxcvbn import zxcvbn

from monitor import audit, codes
from monitor.extensions import db
from monitor.models import Organisation, User
from monitor.models.users import MIN_PASSWORD_LENGTH


class UserError(ValueError):
    """The account cannot be created or changed as asked; str() says why."""


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise UserError(_("%(email)s is not a valid e-mail address.", email=email.strip()[:254])) from None


def check_password_strength(password: str, email: str) -> None:
    """Long enough, not made of the e-mail address, and not easy to guess: zxcvbn's estimate
    (its lists of the most common passwords, names, words, keyboard patterns and dates) must be
    at least "somewhat guessable" (score 2 of 4)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(_("Use at least %(n)d characters for the password.", n=MIN_PASSWORD_LENGTH))
    email = email.strip().lower()
    local = email.partition("@")[0]
    if email and (email in password.lower() or (len(local) >= 3 and local in password.lower())):
        raise UserError(_("The password must not contain the e-mail address."))
    if zxcvbn(password[:100], user_inputs=[email, local])["score"] < 2:
        raise UserError(_("This password is too common or too easy to guess: use a few unrelated words."))


def check_role(role: str, organisation: Organisation | None) -> None:
    if role not in codes.ROLES:
        raise UserError(_("Unknown role %(role)s: use admin, analyst, partner or coordinator.", role=role))
    if role == "partner" and organisation is None:
        raise UserError(_("Partner staff must belong to a partner organisation."))
    if role == "coordinator" and (organisation is None or not organisation.is_reintegration_partner):
        raise UserError(_("A coordinator belongs to a reintegration partner (such as caritas or iom), not to a "
                          "local partner."))


def find_organisation(code: str | None) -> Organisation | None:
    if not code:
        return None
    org = db.session.scalar(select(Organisation).where(func.lower(Organisation.code) == code.strip().lower()))
    if org is None:
        raise UserError(_("Unknown organisation %(code)s.", code=code))
    return org


def create_user(email: str, password: str, role: str, organisation: Organisation | None = None, *,
                locale: str | None = None, by: User | None = None, actor: str | None = None) -> User:
    email = normalise_email(email)
    check_role(role, organisation)
    check_password_strength(password, email)
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise UserError(_("There is already an account for %(email)s.", email=email))
    user = User(email=email, role=role, organisation=organisation, locale=locale)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", user, user=by, actor=actor, details={"role": role})
    return user


def update_user(user: User, *, role: str, organisation: Organisation | None, active: bool,
                locale: str | None, password: str | None = None, by: User | None = None) -> list[str]:
    check_role(role, organisation)
    changed = []
    for name, value in (("role", role), ("organisation", organisation), ("active", active), ("locale", locale)):
        if getattr(user, name) != value:
            setattr(user, name, value)
            changed.append(name)
    if password:
        check_password_strength(password, user.email)
        user.set_password(password)
        changed.append("password")
    if "active" in changed or "role" in changed or "organisation" in changed:
        user.end_sessions()  # a changed role or a deactivation takes effect at once
    if changed:
        audit.record("user.edit", user, user=by, details={"fields": changed})
    return changed
