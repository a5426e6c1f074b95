"""Personal survey links: the token goes to the returnee, only its hash is stored."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select

from monitor.extensions import db
from monitor.models import Returnee, SurveyLink
from monitor.models.types import utcnow


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(returnee: Returnee, wave: str, expires_at: datetime) -> str:
    """A new link for this returnee and wave; returns the token (128 bits of randomness)."""
    token = secrets.token_urlsafe(16)
    db.session.add(SurveyLink(token_hash=token_hash(token), returnee=returnee, wave=wave, expires_at=expires_at))
    db.session.flush()
    return token


def resolve_link(token: str) -> SurveyLink | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(SurveyLink).where(SurveyLink.token_hash == token_hash(token)))


def link_is_open(link: SurveyLink, now: datetime | None = None) -> bool:
    return (now or utcnow()) < link.expires_at
