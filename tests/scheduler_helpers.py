"""Small queries shared by the planning and dispatch tests."""
from __future__ import annotations

from sqlalchemy import func, select

from monitor.extensions import db
from monitor.models import FollowUp, FollowUpEvent, SmsMessage


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def messages(*where) -> list[SmsMessage]:
    return db.session.scalars(select(SmsMessage).where(*where).order_by(SmsMessage.id)).all()


def events(follow_up: FollowUp) -> list[tuple[str, str, str, str]]:
    rows = db.session.scalars(select(FollowUpEvent).where(FollowUpEvent.follow_up_id == follow_up.id)
                              .order_by(FollowUpEvent.id))
    return [(e.transition, e.from_state, e.to_state, e.actor) for e in rows]


def follow_up_of(returnee, wave: str = "m1") -> FollowUp | None:
    db.session.expire_all()
    return db.session.scalar(select(FollowUp).where(FollowUp.returnee_id == returnee.id, FollowUp.wave == wave))
