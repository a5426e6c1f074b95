"""Access control in one place: what each role may do, and which returnees a user may see.

Every query for returnees (and later follow-ups and responses) starts from
`visible_returnees(user)`; a record outside a user's scope is answered with 404, so its
existence is not revealed.
"""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import Select, or_, select

from monitor.extensions import db
from monitor.models import Organisation, Returnee, User

# Permission -> roles holding it.
PERMISSIONS: dict[str, frozenset[str]] = {
    "organisations.manage": frozenset({"admin"}),
    "users.manage": frozenset({"admin"}),
    "audit.read": frozenset({"admin"}),
    "returnees.import": frozenset({"admin"}),
    "returnees.read": frozenset({"admin", "analyst", "partner"}),
    "returnees.edit": frozenset({"admin", "partner"}),
    # Names and phone numbers: never for analysts.
    "returnees.contact": frozenset({"admin", "partner"}),
    # Erasing a case's identity (monitor/returnees/erasure.py), and the data-protection page.
    "returnees.erase": frozenset({"admin"}),
    "dataprotection.read": frozenset({"admin"}),
    # The work list: partner staff's home page; admins open any organisation's.
    "worklist.use": frozenset({"admin", "partner"}),
    # Pseudonymous responses (codes, never names or phone numbers): partner staff their own
    # organisation's; free-text answers, which can hold names and numbers, administrators only.
    "exports.responses": frozenset({"admin", "analyst", "partner"}),
    "exports.text": frozenset({"admin"}),
    # The dashboard's figures (page and API): partner staff see their organisation's.
    "reports.read": frozenset({"admin", "analyst", "partner"}),
}


def can(user: User, permission: str) -> bool:
    return bool(user and user.is_authenticated and user.role in PERMISSIONS[permission])


def require(permission: str):
    """Decorator for a view: logged in, and holding `permission` (403 otherwise)."""
    if permission not in PERMISSIONS:
        raise KeyError(permission)

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not can(current_user, permission):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def scope_to_user(stmt: Select, user: User) -> Select:
    """Restrict a statement over Returnee to the cases `user` may see."""
    if user.role in ("admin", "analyst"):
        return stmt
    if user.role == "partner" and user.organisation_id is not None:
        org = user.organisation
        if org.is_reintegration_partner:
            return stmt.where(Returnee.partner_id == org.id)
        return stmt.where(Returnee.local_partner_id == org.id)
    return stmt.where(False)


def visible_returnees(user: User) -> Select:
    return scope_to_user(select(Returnee), user)


def get_returnee_or_404(user: User, code: str) -> Returnee:
    returnee = db.session.scalar(visible_returnees(user).where(Returnee.code == code))
    if returnee is None:
        abort(404)
    return returnee


def visible_organisations(user: User) -> Select:
    """Organisations a user may pick in filters: all, or their own and its local partners."""
    stmt = select(Organisation).order_by(Organisation.name)
    if user.role == "partner":
        org_id = user.organisation_id
        return stmt.where(or_(Organisation.id == org_id, Organisation.parent_id == org_id))
    return stmt
