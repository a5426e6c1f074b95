"""API tokens: made on the account page, shown once, kept as a hash, revoked there; a token acts
for its user (role, organisation) while the user is active.

Audit: one entry when a token is made, one when it is revoked, and one for its first use on each
UTC day ("api_token.used"), so the log shows which tokens are in use without an entry per call;
`last_used_at` keeps the latest use, to the minute.
"""
from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import or_, select, update

from monitor import audit
from monitor.extensions import conflict_insert, db
from monitor.models import ApiToken, User
from monitor.models.tokens import token_digest
from monitor.models.types import utcnow

PREFIX = "rm_"  # return monitor: recognisable in a script or a secret scanner
HINT_LENGTH = 8
LAST_USED_PRECISION = timedelta(minutes=1)


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)  # 256 random bits


def create_token(user: User, name: str, form_key: str | None = None) -> str | None:
    """Make a token for `user` and return it (the only time it exists in clear). The same form
    sent twice (`form_key`) makes one token: the second gets None. Commits."""
    token = new_token()
    made = db.session.execute(conflict_insert()(ApiToken).values(
        user_id=user.id, name=name, token_hash=token_digest(token), hint=token[:HINT_LENGTH], form_key=form_key,
        created_at=utcnow()).on_conflict_do_nothing(index_elements=["form_key"]).returning(ApiToken.id)).scalar()
    if made is None:
        return None
    audit.record("api_token.create", db.session.get(ApiToken, made), user=user)
    db.session.commit()
    return token


def revoke_token(user: User, token_id: int) -> bool | None:
    """Revoke one of `user`'s tokens: True when revoked now, False when it already was, None
    when `user` has no such token. Commits."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if token is None:
        return None
    revoked = db.session.execute(update(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
                                 .values(revoked_at=utcnow())).rowcount
    if revoked:
        audit.record("api_token.revoke", token, user=user)
    db.session.commit()
    return bool(revoked)


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(),
                                             ApiToken.id.desc())))


def find_token(token: str) -> ApiToken | None:
    """The live token a request presents: not revoked, its user active."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    return db.session.scalar(select(ApiToken).join(User, User.id == ApiToken.user_id)
                             .where(ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None),
                                    User.active.is_(True)))


def mark_used(token: ApiToken, now: datetime | None = None) -> None:
    """Note the use: `last_used_at`, and an audit entry for the first use of the (UTC) day. Two
    requests at once write one entry: only the update that moves the time past midnight records
    it. Commits."""
    now = now or utcnow()
    midnight = datetime.combine(now.astimezone(timezone.utc).date(), time(0), tzinfo=timezone.utc)
    first_today = db.session.execute(update(ApiToken).where(
        ApiToken.id == token.id, or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < midnight))
        .values(last_used_at=now)).rowcount
    if first_today:
        audit.record("api_token.use", token, user=token.user)
    else:
        db.session.execute(update(ApiToken).where(ApiToken.id == token.id,
                                                  ApiToken.last_used_at < now - LAST_USED_PRECISION)
                           .values(last_used_at=now))
    db.session.commit()
