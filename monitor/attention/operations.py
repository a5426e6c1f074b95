"""Opening and closing needs-attention items. Items follow the red flags from the one place that
raises them (`monitor.responses.operations.apply_scores`: completion, closure, an import, a
rescore, a correction), so every way a flag appears opens its item, once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from monitor import audit, codes
from monitor.extensions import db
from monitor.models import AttentionItem, Response, User
from monitor.models.types import utcnow


def raises_needs(response: Response, today=None) -> bool:
    """A live response (the returnee's link, an interview) raises needs; an imported one only
    while its follow-up's window is still open: historical data is nobody's work any more."""
    if not response.imported:
        return True
    follow_up = response.follow_up
    return follow_up is not None and follow_up.window_closes >= (today or utcnow().date())


def follow_flags(response: Response, flags: set[str], at: datetime | None = None) -> None:
    """Make the response's items follow its flags: a flag without an item opens one (when the
    response raises needs); an item whose flag is no longer raised is kept, marked cleared (a
    person still closes it, saying what was done); a flag raised again unmarks it."""
    at = at or utcnow()
    items = {item.flag: item for item in response.attention_items}
    for flag, item in items.items():
        item.cleared_at = None if flag in flags else (item.cleared_at or at)
    new = flags - items.keys()
    if new and raises_needs(response, at.date()):
        response.attention_items.extend(AttentionItem(flag=flag, opened_at=at) for flag in sorted(new))


def close_item(item: AttentionItem, action: str, note: str | None, *, user: User) -> bool:
    """Record what was done and close the item: once, however often it is pressed (the update
    touches only an open item; the second press finds it closed). False when it was closed."""
    if action not in codes.ATTENTION_ACTIONS:
        raise ValueError(f"not an action: {action!r}")
    closed = db.session.execute(
        update(AttentionItem).where(AttentionItem.id == item.id, AttentionItem.closed_at.is_(None))
        .values(action=action, note=note, closed_at=utcnow(), closed_by_id=user.id)
        .execution_options(synchronize_session=False)).rowcount
    if closed:
        # The note stays out of the log: it may describe the returnee's situation.
        audit.record("attention.close", item, user=user,
                     details={"case": item.response.returnee.code, "flag": item.flag, "action": action, "note": bool(note)})
    return bool(closed)
