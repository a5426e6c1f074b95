"""Recording the audit trail: one call, from a controller, the CLI or the scheduler alike."""
from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from monitor.extensions import db
from monitor.models import AuditEntry, User


def record(action: str, obj=None, *, details: dict | None = None, user: User | None = None,
           actor: str | None = None) -> AuditEntry:
    """Add an audit entry to the current transaction (it commits with the change it records).

    `obj` is any model with an `id`; the entry keeps its table name and id (for returnees the
    pseudonymous code), never its personal data.
    """
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user
    entry = AuditEntry(
        action=action,
        user_id=user.id if user else None,
        actor=actor or (user.email if user else "system"),
        details=details or {},
        ip=request.remote_addr if has_request_context() else None,
    )
    if obj is not None:
        entry.object_type = obj.__tablename__
        entry.object_id = str(getattr(obj, "code", None) or obj.id)
    db.session.add(entry)
    return entry
