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
from monitor.codes import ROLES
from monitor.models import Organisation, Returnee, User
from monitor.models.users import ORGANISATION_ROLES

# Permission -> roles holding it. A coordinator (a reintegration partner's programme staff) holds
# partner staff's permissions and manages its own partner's local partners, users and imports:
# the scoping below keeps every one of them to that partner.
PERMISSIONS: dict[str, frozenset[str]] = {
    # The follow-up plan, the outbox, the questionnaire's languages: the whole programme's.
    "programme.manage": frozenset({"admin"}),
    "organisations.manage": frozenset({"admin", "coordinator"}),
    "users.manage": frozenset({"admin", "coordinator"}),
    "audit.read": frozenset({"admin"}),
    "returnees.import": frozenset({"admin", "coordinator"}),
    "returnees.read": frozenset({"admin", "analyst", "partner", "coordinator"}),
    "returnees.edit": frozenset({"admin", "partner", "coordinator"}),
    # Names and phone numbers: never for analysts.
    "returnees.contact": frozenset({"admin", "partner", "coordinator"}),
    # Erasing a case's identity (monitor/returnees/erasure.py), and the data-protection page.
    "returnees.erase": frozenset({"admin"}),
    "dataprotection.read": frozenset({"admin"}),
    # The work list: partner staff's home page; admins open any organisation's.
    "worklist.use": frozenset({"admin", "partner", "coordinator"}),
    # Pseudonymous responses (codes, never names or phone numbers): partner staff their own
    # organisation's; free-text answers, which can hold names and numbers, administrators only.
    "exports.responses": frozenset({"admin", "analyst", "partner", "coordinator"}),
    "exports.text": frozenset({"admin"}),
    # The dashboard's figures (page and API): partner staff see their organisation's.
    "reports.read": frozenset({"admin", "analyst", "partner", "coordinator"}),
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
    if user.partner_scoped and user.organisation_id is not None:
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
    if user.partner_scoped:
        org_id = user.organisation_id
        return stmt.where(or_(Organisation.id == org_id, Organisation.parent_id == org_id))
    return stmt


# -- what a coordinator manages ---------------------------------------------------------------

def manages_everything(user: User) -> bool:
    return user.role == "admin"


def managed_partner(user: User) -> Organisation | None:
    """The reintegration partner a coordinator manages (None for an admin, who manages all)."""
    if user.role == "coordinator" and user.organisation is not None and user.organisation.is_reintegration_partner:
        return user.organisation
    return None


def managed_organisations(user: User) -> Select:
    """Organisations whose users `user` may manage: every one for an admin; for a coordinator, its
    reintegration partner and that partner's local partners; none otherwise."""
    stmt = select(Organisation).order_by(Organisation.name)
    if manages_everything(user):
        return stmt
    partner = managed_partner(user)
    if partner is None:
        return stmt.where(False)
    return stmt.where(or_(Organisation.id == partner.id, Organisation.parent_id == partner.id))


def may_manage_organisation(user: User, org: Organisation) -> bool:
    """Edit an organisation: an admin any; a coordinator its own partner's local partners."""
    if manages_everything(user):
        return True
    partner = managed_partner(user)
    return partner is not None and org.parent_id == partner.id


def import_scope(user: User) -> tuple[bool, Organisation | None]:
    """(may import, for which reintegration partner only): an admin for every partner (None), a
    coordinator for its own; no one else."""
    if manages_everything(user):
        return True, None
    partner = managed_partner(user)
    return partner is not None, partner


def may_manage_user(user: User, other: User) -> bool:
    """Edit, unlock or reset another account: an admin any; a coordinator the accounts of its own
    partner and its local partners that are partner staff or coordinators."""
    if manages_everything(user):
        return True
    partner = managed_partner(user)
    if partner is None or not other.partner_scoped or other.organisation is None:
        return False
    return other.organisation_id == partner.id or other.organisation.parent_id == partner.id


def assignable_roles(user: User) -> tuple[str, ...]:
    """The roles `user` may give: never one above its own."""
    if manages_everything(user):
        return tuple(ROLES)
    if managed_partner(user) is not None:
        return tuple(role for role in ROLES if role in ORGANISATION_ROLES)
    return ()


def get_managed_user_or_404(user: User, user_id: int) -> User:
    other = db.session.get(User, user_id)
    if other is None or not may_manage_user(user, other):
        abort(404)
    return other
