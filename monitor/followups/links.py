"""Personal survey links: the token goes to the returnee, only its hash is stored."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload

from monitor.extensions import db
from monitor.models import FollowUp, Response, Returnee, SurveyLink
from monitor.models.types import utcnow


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(returnee: Returnee, wave: str, expires_at: datetime, *, flush: bool = True) -> str:
    """A new link for this returnee and wave; returns the token (128 bits of randomness). The
    dispatcher leaves the INSERT to its batch's commit (`flush=False`): one statement for all."""
    token = secrets.token_urlsafe(16)
    db.session.add(SurveyLink(token_hash=token_hash(token), returnee=returnee, wave=wave, expires_at=expires_at))
    if flush:
        db.session.flush()
    return token


def resolve_link(token: str, *options) -> SurveyLink | None:
    """The link of a token (None for one that is not a link), loaded with `options`."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(SurveyLink).where(SurveyLink.token_hash == token_hash(token)).options(*options))


def open_link(token: str, lock: bool = False) -> tuple[SurveyLink, FollowUp | None, Response | None] | None:
    """What a returnee's page needs, in two statements (and one for the answers, when there is
    a response): the link with its returnee and partners, then the follow-up with its response,
    the follow-up's row locked when `lock` (a POST writes: two presses of a page take turns).
    The returnee's vulnerabilities and the response's scores, flags and needs are loaded only if
    something reads them; a page reads none of them."""
    link = resolve_link(token, joinedload(SurveyLink.returnee).options(
        joinedload(Returnee.partner), joinedload(Returnee.local_partner), lazyload(Returnee.vulnerability_rows)))
    if link is None:
        return None
    stmt = (select(FollowUp, Response).outerjoin(Response, Response.follow_up_id == FollowUp.id)
            .where(FollowUp.returnee_id == link.returnee_id, FollowUp.wave == link.wave)
            .options(lazyload(Response.flag_rows), lazyload(Response.score_rows), lazyload(Response.attention_items)))
    if lock:
        stmt = stmt.with_for_update(of=FollowUp)
    found = db.session.execute(stmt).first()
    follow_up, response = found if found is not None else (None, None)
    return link, follow_up, response


def link_is_open(link: SurveyLink, now: datetime | None = None) -> bool:
    return (now or utcnow()) < link.expires_at
