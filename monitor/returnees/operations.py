"""The domain actions that change a returnee's case. The web forms, the import and the CLI all
go through these, so consent history and the audit trail are written the same way everywhere."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from monitor import audit
from monitor.extensions import cipher, db, insert_many
from monitor.followups.operations import close_open_follow_ups
from monitor.models import ConsentEvent, FollowUp, Returnee, ReturneeVulnerability, User
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


def consent_columns(channels, method: str, at: datetime) -> dict:
    """The case's consent columns once consent is recorded for `channels` (empty: refused)."""
    channels = set(channels)
    return {"consent_given": bool(channels), "consent_sms": "sms" in channels, "consent_phone": "phone" in channels,
            "consent_method": method, "consent_recorded_at": at,
            "consent_withdrawn_at": None,  # giving consent again after a withdrawal clears it
            "opted_out_at": None}  # new consent is an explicit act: it ends an earlier STOP too


def give_consent(returnee: Returnee, channels, method: str, *, user: User | None = None,
                 at: datetime | None = None, note: str | None = None) -> None:
    """Record consent for `channels` (a subset of CONSENT_CHANNELS). Giving consent again after a
    withdrawal is a new, explicit act: it clears the withdrawal."""
    at = at or utcnow()
    channels = sorted(set(channels))
    for column, value in consent_columns(channels, method, at).items():
        setattr(returnee, column, value)
    returnee.consent_events.append(ConsentEvent(
        kind="given" if channels else "refused", channels=" ".join(channels), method=method,
        at=at, recorded_by_id=user.id if user else None, note=note))
    if channels:
        _look_again(returnee, at)  # a follow-up waiting for a channel can go on now
    else:
        _close_follow_ups(returnee, "withdrew", user, None, at)


def create_cases(cases: list[tuple[str, dict, list[str]]], method: str, *, user_id: int | None = None,
                 at: datetime | None = None) -> None:
    """Create new cases, each (code, case fields as for `apply_case_fields`, consent channels),
    as `apply_case_fields` and `give_consent` would one by one, but with one INSERT per table
    for the lot (the import writes thousands at a time). A new case has no follow-up yet."""
    if not cases:
        return
    at = at or utcnow()
    columns = [f for f in EDITABLE_FIELDS if f != "vulnerabilities"]
    rows = []
    for code, values, channels in cases:
        row = {"code": code, **{f: values.get(f) for f in columns}, **consent_columns(channels, method, at),
               "phone_lookup": cipher.lookup_hash(values["phone"]) if values.get("phone") else None,
               "do_not_contact": False, "created_at": at, "updated_at": at}
        rows.append(row)
    insert_many(Returnee.__table__, rows)
    codes = [code for code, _values, _channels in cases]
    id_of = dict(db.session.execute(select(Returnee.code, Returnee.id).where(Returnee.code.in_(codes))).tuples().all())
    ids = [id_of[code] for code in codes]
    insert_many(ConsentEvent.__table__, [
        {"returnee_id": id_, "at": at, "kind": "given" if channels else "refused",
         "channels": " ".join(sorted(set(channels))), "method": method, "recorded_by_id": user_id, "note": None}
        for id_, (_code, _values, channels) in zip(ids, cases)])
    insert_many(ReturneeVulnerability.__table__, [
        {"returnee_id": id_, "category": category} for id_, (_code, values, _channels) in zip(ids, cases)
        for category in sorted(set(values.get("vulnerabilities") or ()))])


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
