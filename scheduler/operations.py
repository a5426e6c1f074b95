"""The named actions that change a follow-up, shared by the dispatcher, the web forms and the CLI."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from monitor.extensions import db
from monitor.models import FollowUp, FollowUpEvent, Response
from monitor.models.types import utcnow
from scheduler.protocol import OPEN_STATES, transition

# A response's disposition -> the transition that closes its follow-up.
_CLOSING = {"complete": "complete", "partial": "complete", "refusal": "refuse", "not-eligible": "not_eligible"}


def apply_transition(follow_up: FollowUp, name: str, *, actor: str, at: datetime | None = None,
                     detail: str | None = None, disposition: str | None = None) -> None:
    """The one way a follow-up changes state: recorded with its time and actor."""
    at = at or utcnow()
    before = follow_up.state
    follow_up.state = transition(before, name)
    follow_up.events.append(FollowUpEvent(at=at, transition=name, from_state=before, to_state=follow_up.state,
                                          actor=actor, detail=detail))
    if follow_up.state == "closed":
        follow_up.disposition = disposition
        follow_up.closed_at = at
        follow_up.next_action_at = None


def close_for_response(response: Response, actor: str) -> FollowUp | None:
    """A completed (or refused) response closes its open follow-up, so no reminder follows it."""
    name = _CLOSING.get(response.disposition or "")
    follow_up = db.session.scalar(select(FollowUp).where(
        FollowUp.returnee_id == response.returnee_id, FollowUp.wave == response.wave))
    if name is None or follow_up is None or follow_up.state not in OPEN_STATES:
        return None
    apply_transition(follow_up, name, actor=actor, at=response.completed_at, disposition=response.disposition,
                     detail=f"response {response.id} ({response.mode})")
    return follow_up
