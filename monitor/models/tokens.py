from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor.extensions import db
from monitor.models.types import UTCDateTime, utcnow
from monitor.models.users import User


def token_digest(token: str) -> str:
    """What is stored of a token: its SHA-256 (the token is 256 random bits, so a plain hash is
    enough, and a lookup by it needs no per-row salt)."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(db.Model):
    """A staff member's key to the API (`Authorization: Bearer <token>`): it acts with its user's
    role and organisation, while the user is active and until it is revoked. The token itself is
    shown once, when it is made; only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))  # what it is for: "R script", "statistics office"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(12))  # the token's first characters, to recognise it
    # The creation form's key: the same form sent twice makes one token.
    form_key: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.hint}…>"
