"""Recording the audit trail: one call, from a controller, the CLI or the scheduler alike."""
from __future__ import annotations

from flask import has_request_context, request
from flask_babel import gettext as _
from flask_login import current_user

from monitor import codes, formatting
from monitor.extensions import db
from monitor.followups.waves import wave_name
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


def label(action: str) -> str:
    """An action as staff read it ('Contact details viewed'); an action without a label yet
    shows as it is stored, so nothing is hidden."""
    return str(codes.AUDIT_ACTIONS.get(action, action))


def describe(entry: AuditEntry) -> list[tuple[str, str]]:
    """An entry's details as (label, value) pairs in the staff member's language: codes become
    their names (a wave, a role, a mode), lists are joined, numbers follow the locale."""
    def named(mapping):
        return lambda value: str(mapping.get(value, value))

    def each(one):
        return lambda values: formatting.listing(map(one, values)) if isinstance(values, list) else one(values)

    values = {
        "fields": each(named(codes.FIELDS)), "role": named(codes.ROLES), "wave": wave_name,
        "waves": each(wave_name), "mode": named(codes.RESPONSE_MODES), "channels": each(named(codes.CHANNELS)),
        "disposition": lambda code: f"{codes.DISPOSITIONS.get(code, code)} (AAPOR {code})" if code else "—",
        "method": named(codes.CONSENT_METHODS), "reason": named(codes.LOGIN_FAILURES), "via": named(codes.VIA),
        "labels": named(codes.RETURNEE_LANGUAGES), "second_factor_method": named(codes.SECOND_FACTOR_METHODS),
    }
    pairs = []
    for key, value in (entry.details or {}).items():
        if isinstance(value, bool):
            shown = _("Yes") if value else _("No")
        elif key in values:
            shown = values[key](value)
        elif isinstance(value, (int, float)):
            shown = formatting.number(value)
        elif isinstance(value, list):
            shown = formatting.listing(value)
        else:
            shown = "—" if value is None else str(value)
        pairs.append((str(codes.AUDIT_DETAILS.get(key, key)), shown))
    return pairs


def actor_label(actor: str) -> str:
    """An e-mail address as it is; 'cli', 'scheduler'... by their names."""
    return str(codes.ACTORS.get(actor, actor))


def object_label(entry: AuditEntry) -> str:
    """'Returnee GE-260001', 'User 3'."""
    if not entry.object_type:
        return ""
    return f"{codes.AUDIT_OBJECTS.get(entry.object_type, entry.object_type)} {entry.object_id}"
