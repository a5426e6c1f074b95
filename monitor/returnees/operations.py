"""The domain actions that change a returnee's case. The web forms, the import and the CLI all
go through these, so consent history and the audit trail are written the same way everywhere."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from monitor import audit
from monitor.extensions import db
from monitor.followups.operations import close_open_follow_ups
from monitor.models import ConsentEvent, FollowUp, Returnee, User
from monitor.models.types import utcnow

# Case fields an edit may change, and which of them are personal data (never put in the audit).
EDITABLE_FIELDS = (
    "destination_country", "partner_id", "local_partner_id", "return_date", "sex", "birth_year",
    "adults", "children", "support_package", "language", "preferred_channel", "name", "phone",
    "vulnerabilities",
)
PERSONAL_FIELDS = frozenset({"name", "phone"})


def apply_case_fields(returnee: Returnee, values: dict) -> list[str]:
    """Set case fields from `values`; return the names of those that changed."""
    changed = []
    for field in EDITABLE_FIELDS:
        if field not in values:
            continue
        new = values[field]
        if field == "vulnerabilities":
            if sorted(new) != returnee.vulnerabilities:
                returnee.vulnerabilities = new
                changed.append(field)
        elif getattr(returnee, field) != new:
            if field == "phone":
                returnee.set_phone(new)
            else:
                setattr(returnee, field, new)
            changed.append(field)
    return changed


def update_case(returnee: Returnee, values: dict, *, user: User | None = None, actor: str | None = None) -> list[str]:
    changed = apply_case_fields(returnee, values)
    if "phone" in changed or "preferred_channel" in changed:
        _look_again(returnee)  # a new number is tried in the open follow-ups too
    if changed:
        audit.record("returnee.edit", returnee, user=user, actor=actor, details={"fields": changed})
    return changed


def give_consent(returnee: Returnee, channels, method: str, *, user: User | None = None,
                 at: datetime | None = None, note: str | None = None) -> None:
    """Record consent for `channels` (a subset of CONSENT_CHANNELS). Giving consent again after a
    withdrawal is a new, explicit act: it clears the withdrawal."""
    at = at or utcnow()
    channels = sorted(set(channels))
    returnee.consent_given = bool(channels)
    returnee.consent_sms = "sms" in channels
    returnee.consent_phone = "phone" in channels
    returnee.consent_method = method
    returnee.consent_recorded_at = at
    returnee.consent_withdrawn_at = None
    returnee.opted_out_at = None  # new consent is an explicit act: it ends an earlier STOP too
    returnee.consent_events.append(ConsentEvent(
        kind="given" if channels else "refused", channels=" ".join(channels), method=method,
        at=at, recorded_by_id=user.id if user else None, note=note))
    if channels:
        _look_again(returnee, at)  # a follow-up waiting for a channel can go on now
    else:
        _close_follow_ups(returnee, "withdrew", user, None, at)


def withdraw_consent(returnee: Returnee, method: str, *, user: User | None = None, actor: str | None = None,
                     note: str | None = None, at: datetime | None = None) -> bool:
    """Withdraw consent for every channel. Returns False when there was none to withdraw."""
    if not returnee.consent_active:
        return False
    at = at or utcnow()
    returnee.consent_withdrawn_at = at
    returnee.consent_events.append(ConsentEvent(
        kind="withdrawn", channels=" ".join(returnee.consent_channels), method=method, at=at,
        recorded_by_id=user.id if user else None, note=note))
    audit.record("returnee.consent.withdraw", returnee, user=user, actor=actor, details={"method": method})
    _close_follow_ups(returnee, "withdrew", user, actor, at)
    return True


def _look_again(returnee: Returnee, at=None) -> None:
    """The dispatcher looks at the returnee's open follow-ups at its next run."""
    if returnee.id is None:
        return
    db.session.execute(update(FollowUp).where(FollowUp.returnee_id == returnee.id, FollowUp.state != "closed")
                       .values(next_action_at=at or utcnow()).execution_options(synchronize_session="fetch"))


def _close_follow_ups(returnee: Returnee, reason: str, user: User | None, actor: str | None, at=None) -> None:
    """A withdrawal or do-not-contact ends every open follow-up at once, by every channel."""
    if returnee.id is not None:
        close_open_follow_ups(returnee, reason, actor=actor or (user.email if user else "staff"), at=at)


def set_do_not_contact(returnee: Returnee, value: bool, *, user: User | None = None, actor: str | None = None) -> bool:
    if returnee.do_not_contact == value:
        return False
    returnee.do_not_contact = value
    returnee.do_not_contact_at = utcnow() if value else None
    audit.record("returnee.do_not_contact.set" if value else "returnee.do_not_contact.clear",
                 returnee, user=user, actor=actor)
    if value:
        _close_follow_ups(returnee, "do_not_contact", user, actor)
    return True
