from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.extensions import db
from monitor.models.types import EncryptedText, UTCDateTime, utcnow
from monitor.models.users import User

if TYPE_CHECKING:
    from monitor.models.responses import Response


class AttentionItem(db.Model):
    """A red flag of a live response, as work for the returnee's organisation ("needs
    attention"): open until a person records what they did (an action of
    `codes.ATTENTION_ACTIONS`, and a note) and closes it. Which organisation's work it is follows
    the returnee (as everything on the work list does), so the item stores no organisation.

    One item per response and flag, however often the flag is raised. The flags themselves
    (`response_flags`) say what the answers say now; an item is the record of the work and is
    never dropped with its flag: when a correction or a rescore no longer raises the flag,
    `cleared_at` says since when, and a person still closes the item."""

    __tablename__ = "attention_items"
    __table_args__ = (
        UniqueConstraint("response_id", "flag", name="uq_attention_items_response_id_flag"),
        # Never closed without an action, never an action on an open item.
        CheckConstraint("(closed_at IS NULL) = (action IS NULL)", name="closed_with_action"),
        # The work list counts open items: most items are closed, and stay so.
        Index("ix_attention_items_open", "response_id", sqlite_where=text("closed_at IS NULL"),
              postgresql_where=text("closed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    flag: Mapped[str] = mapped_column(String(40))  # a flag code of the questionnaire
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the answers no longer raise it
    action: Mapped[str | None] = mapped_column(String(20))  # codes.ATTENTION_ACTIONS
    # What was done, in the staff member's words: may say more about a returnee's situation than
    # anything else here, so it is encrypted at rest like their name.
    note: Mapped[str | None] = mapped_column(EncryptedText)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    response: Mapped[Response] = relationship(back_populates="attention_items")
    closed_by: Mapped[User | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
