"""Erasing a case's identity, on request (`monitor erase`, the admin's button) or when its
retention period is over (`monitor purge-expired`, the scheduler's daily job): one operation for
all three, so the same things are removed the same way.

What goes: the name, the phone number and its lookup hash; the outbox's recipients and bodies
(which hold the number and the personal link); the texts the returnee sent and their sender
hashes; the personal links; every note staff wrote about the case (call attempts, needs
attention, consent) and the reasons of corrections; free-text answers (which can hold names and
numbers). With `with_answers`, the responses themselves (answers, scores, red flags, corrections).
What stays: the pseudonymous case (code, country, partner, return date, household, support),
its follow-ups with their AAPOR outcome (the figures do not silently change), the consent
history's dates and kinds, and the audit log, which records the erasure without the erased data.
An erased case is never contacted again (`Returnee.refusal` is "erased").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import delete, exists, func, or_, select, update

from monitor import audit
from monitor.extensions import cipher, db
from monitor.followups.operations import close_open_follow_ups, retrying_stale
from monitor.models import (
    AttentionItem, ConsentEvent, ContactAttempt, FollowUp, InboundMessage, Response, ResponseAnswer, ResponseRevision,
    Returnee, SmsMessage, SurveyLink, User, Wave,
)
from monitor.models.types import utcnow
from monitor.responses.operations import questionnaire_of


@dataclass
class Erasure:
    """What one erasure removed (counts: the audit log's details)."""

    code: str
    erased: bool = False  # False: erased before, nothing more to do
    messages: int = 0
    texts: int = 0
    notes: int = 0
    free_text: int = 0
    responses: int = 0

    def details(self) -> dict:
        return {"messages": self.messages, "texts": self.texts, "notes": self.notes, "free_text": self.free_text,
                "responses": self.responses}


def erase_returnee(returnee: Returnee, *, reason: str, with_answers: bool = False, user: User | None = None,
                   actor: str | None = None, action: str = "returnee.erase", details: dict | None = None,
                   at: datetime | None = None) -> Erasure:
    """Erase `returnee`'s identity everywhere it is stored, in the caller's transaction (the
    caller commits). Pressed twice, or run by two processes at once, it erases once: the case is
    claimed by a conditional UPDATE, which the second waits for and then finds done. A case
    erased before can still lose its answers (`with_answers`)."""
    at = at or utcnow()
    actor = actor or (user.email if user else "system")
    result = Erasure(returnee.code)
    # The number's lookup hash under every listed key: a text stored before a key rotation
    # carries an older key's (rotate-key recomputes the cases' hashes, not the texts').
    lookups = cipher.lookup_hashes(returnee.phone) if returnee.phone else (
        [returnee.phone_lookup] if returnee.phone_lookup else [])
    claimed = db.session.execute(update(Returnee).where(Returnee.id == returnee.id, Returnee.erased_at.is_(None))
                                 .values(erased_at=at).execution_options(synchronize_session=False)).rowcount
    db.session.refresh(returnee)
    if not claimed:
        if with_answers:
            result.responses = _delete_responses(returnee)
            if result.responses:
                audit.record(action, returnee, user=user, actor=actor,
                             details={"reason": reason, "with_answers": True, "responses": result.responses})
        return result
    result.erased = True
    # Open follow-ups end now (as a refusal, their answers counted as they stand), and a queued
    # message is cancelled, before the identity goes.
    close_open_follow_ups(returnee, "erased", actor=actor, at=at, detail="erased")
    returnee.name = None
    returnee.phone = None
    returnee.phone_lookup = None

    result.messages = db.session.execute(
        update(SmsMessage).where(SmsMessage.returnee_id == returnee.id).values(to="", body="")
        .execution_options(synchronize_session=False)).rowcount
    # The texts this case sent, and those from its number that no other case still holds (a
    # family sharing a phone: the number stays theirs).
    shared = bool(lookups) and db.session.scalar(select(exists().where(
        Returnee.phone_lookup.in_(lookups), Returnee.id != returnee.id, Returnee.erased_at.is_(None))))
    sent = InboundMessage.returnee_id == returnee.id
    if lookups and not shared:
        sent = or_(sent, InboundMessage.from_lookup.in_(lookups))
    # Emptied, and read: an emptied text has nothing left for the work list to show.
    result.texts = db.session.execute(
        update(InboundMessage).where(sent)
        .values(body="", from_lookup="", read_at=func.coalesce(InboundMessage.read_at, at))
        .execution_options(synchronize_session=False)).rowcount
    db.session.execute(delete(SurveyLink).where(SurveyLink.returnee_id == returnee.id)
                       .execution_options(synchronize_session=False))

    follow_ups = select(FollowUp.id).where(FollowUp.returnee_id == returnee.id).scalar_subquery()
    responses = select(Response.id).where(Response.returnee_id == returnee.id).scalar_subquery()
    # Open needs-attention items close: nobody can reach the returnee any more.
    db.session.execute(update(AttentionItem).where(AttentionItem.response_id.in_(responses),
                                                   AttentionItem.closed_at.is_(None))
                       .values(action="case_erased", closed_at=at, closed_by_id=user.id if user else None)
                       .execution_options(synchronize_session=False))
    for model, owner in ((ContactAttempt, ContactAttempt.follow_up_id.in_(follow_ups)),
                         (AttentionItem, AttentionItem.response_id.in_(responses)),
                         (ConsentEvent, ConsentEvent.returnee_id == returnee.id)):
        result.notes += db.session.execute(
            update(model).where(owner, model.note.is_not(None)).values(note=None)
            .execution_options(synchronize_session=False)).rowcount
    if with_answers:
        result.responses = _delete_responses(returnee)
    else:
        result.free_text = _remove_free_text(returnee)
    audit.record(action, returnee, user=user, actor=actor,
                 details={**(details or {}), **({"reason": reason} if reason else {}), "with_answers": with_answers,
                          **result.details()})
    db.session.expire(returnee)
    return result


def erase_and_commit(returnee_id: int, **options) -> Erasure:
    """erase_returnee (with `options`) in a transaction of its own, run again on what is stored
    then when a follow-up moved meanwhile: the administrator's button and `monitor erase`."""
    def once():
        done = erase_returnee(db.session.get(Returnee, returnee_id), **options)
        db.session.commit()
        return done

    return retrying_stale(once)


def _delete_responses(returnee: Returnee) -> int:
    """The answers, scores, red flags, needs-attention items and corrections of every response;
    the follow-ups keep their outcome."""
    count = 0
    for response in db.session.scalars(select(Response).where(Response.returnee_id == returnee.id)):
        db.session.delete(response)
        count += 1
    db.session.flush()
    return count


def _remove_free_text(returnee: Returnee) -> int:
    """Free-text answers and the reasons of corrections, now and in the earlier versions."""
    removed = db.session.execute(
        delete(ResponseAnswer).where(ResponseAnswer.response_id.in_(
            select(Response.id).where(Response.returnee_id == returnee.id)), ResponseAnswer.text.is_not(None))
        .execution_options(synchronize_session=False)).rowcount
    for revision, response in db.session.execute(
            select(ResponseRevision, Response).join(Response, Response.id == ResponseRevision.response_id)
            .where(Response.returnee_id == returnee.id)):
        questionnaire = questionnaire_of(response)
        revision.answers = {code: value for code, value in revision.answers.items()
                            if not (questionnaire.has_item(code) and questionnaire.item(code).type_name == "text")}
        revision.reason = ""
    return removed


# -- retention ------------------------------------------------------------------------------------

def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day when it is shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    following = date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return date(year, month + 1, min(day.day, (following - timedelta(days=1)).day))


def last_wave_days() -> int:
    """Days from the return date to the last day of the plan's last wave."""
    return db.session.scalar(select(func.max(Wave.due_days + Wave.closes_days_after)).where(Wave.active)) or 0


def expired_clause(today: date, months: int):
    """Cases whose identity is kept no longer: not erased, a name or number on file, and the last
    wave of the plan closed more than `months` months ago (for the case's return date, and for
    every follow-up it has), none still open."""
    cutoff = months_before(today, months)
    late = exists().where(FollowUp.returnee_id == Returnee.id,
                          or_(FollowUp.state != "closed", FollowUp.window_closes >= cutoff))
    return (Returnee.erased_at.is_(None), or_(Returnee.name.is_not(None), Returnee.phone_lookup.is_not(None)),
            Returnee.return_date < cutoff - timedelta(days=last_wave_days()), ~late)


def expired_cases(today: date, months: int):
    return select(Returnee).where(*expired_clause(today, months)).order_by(Returnee.id)


@dataclass
class Purge:
    codes: list[str] = field(default_factory=list)


def purge_expired(today: date, months: int, *, actor: str = "scheduler", dry_run: bool = False,
                  batch: int = 200) -> Purge:
    """Erase the identity of every case past its retention period, each in a transaction of its
    own and each in the audit log ("returnee.purge"). Idempotent: a case purged is not found again."""
    report = Purge()
    if dry_run:
        report.codes = list(db.session.scalars(select(Returnee.code).where(*expired_clause(today, months))
                                               .order_by(Returnee.id)))
        return report
    while True:
        cases = db.session.scalars(expired_cases(today, months).limit(batch)).all()
        if not cases:
            return report
        for returnee in cases:
            done = erase_returnee(returnee, reason="", actor=actor, action="returnee.purge",
                                  details={"months": months})
            db.session.commit()
            if done.erased:
                report.codes.append(done.code)
