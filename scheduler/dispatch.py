"""Dispatch: carry out what the contact protocol says for every follow-up that is due.

Crash-safe and safe to run twice at once:
1. decide: each due follow-up is moved by its named transitions (as far as it goes now: invited,
   then the time of its reminder) and, when a message is called for, the message is written to
   the outbox as `queued` in the same transaction, a batch of follow-ups at a time (a follow-up
   row carries a version: a second dispatcher's stale write is refused and rolled back, and the
   batch is read again once);
2. send: the queued messages are claimed a batch at a time (`queued` -> `sending`, one
   compare-and-set UPDATE ... RETURNING, committed) before the backend is called, then marked
   `sent` or `failed` together after the batch. A crash before the claim leaves them queued
   (sent next time, unless the returnee may no longer be contacted: `cancelled`; held while it
   is night where they live); a crash after leaves the batch `sending`, which
   `recover_uncertain` turns into `unknown`: never sent a second time.
On PostgreSQL the due follow-ups and the queued messages are read FOR UPDATE SKIP LOCKED, so two
dispatchers share the work instead of racing for it. A batch costs a few statements whatever its
size, plus one UPDATE per follow-up (its version checked row by row).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone

from flask import current_app
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm.exc import StaleDataError

from monitor.extensions import db
from monitor.followups.links import create_link
from monitor.followups.operations import apply_transition, close, load_rules, record_sms_failure, retrying_stale
from monitor.models import FollowUp, Returnee, SmsMessage
from monitor.sms.backends import backend
from monitor.sms.texts import invitation_text
from scheduler.protocol import FollowUpView, next_action
from scheduler.quiet_hours import is_quiet, next_allowed

BATCH = 200
SEND_BATCH = 50
STEPS = 4  # steps one follow-up may take at one time (invite, then wait: two)
UNCERTAIN_AFTER = timedelta(minutes=10)


@dataclass
class DispatchReport:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def lines(self) -> list[str]:
        return [f"{what}: {n}" for what, n in sorted(self.counts.items())] or ["nothing to do"]


def _view(follow_up: FollowUp, returnee: Returnee, messages_last_week: int) -> FollowUpView:
    return FollowUpView(
        state=follow_up.state, channel=follow_up.channel, country=returnee.destination_country,
        window_opens=follow_up.window_opens, window_closes=follow_up.window_closes,
        invited_at=follow_up.invited_at, reminders_sent=follow_up.reminders_sent, attempts=follow_up.attempts,
        messages_last_week=messages_last_week, may_sms=returnee.may_contact("sms"),
        may_phone=returnee.may_contact("phone"), refusal=returnee.refusal,
        phone_task_without_number=returnee.may_contact("phone", without_number=True))


def _queue_message(follow_up: FollowUp, returnee: Returnee, kind: str, now: datetime) -> None:
    expires = datetime.combine(follow_up.window_closes + timedelta(days=1), time(0), tzinfo=timezone.utc)
    token = create_link(returnee, follow_up.wave, expires, flush=False)
    link = f"{current_app.config['PUBLIC_BASE_URL']}/s/{token}"
    partner = (returnee.local_partner or returnee.partner).signature
    body = invitation_text(returnee.language, partner, link, reminder=(kind == "reminder"))
    db.session.add(SmsMessage(follow_up_id=follow_up.id, returnee_id=returnee.id, kind=kind,
                              sequence=follow_up.reminders_sent if kind == "reminder" else 0,
                              to=returnee.phone, body=body, status="queued", created_at=now))


def decide(now: datetime, *, actor: str = "scheduler", report: DispatchReport | None = None) -> DispatchReport:
    """Move every due follow-up as far as it goes now (usually one step and the time of the
    next), in batches: a few statements a batch, each follow-up written once."""
    report = report or DispatchReport()
    rules = load_rules()
    last_id, retried = 0, False
    while True:
        stmt = (select(FollowUp).where(FollowUp.next_action_at <= now, FollowUp.state != "closed",
                                       FollowUp.id > last_id)
                .order_by(FollowUp.id).limit(BATCH))
        if db.engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True, of=FollowUp)
        follow_ups = db.session.scalars(stmt).all()
        if not follow_ups:
            db.session.commit()
            break
        batch_start, last_id = last_id, follow_ups[-1].id
        returnees = {r.id: r for r in db.session.scalars(
            select(Returnee).where(Returnee.id.in_([f.returnee_id for f in follow_ups])))}
        recent = dict(db.session.execute(
            select(SmsMessage.returnee_id, func.count()).where(
                SmsMessage.returnee_id.in_(list(returnees)), SmsMessage.created_at > now - timedelta(days=7),
                SmsMessage.status.not_in(("failed", "cancelled")))
            .group_by(SmsMessage.returnee_id)).all())
        # A stale write can surface at any flush (autoflush included), not only at the commit.
        try:
            for follow_up in follow_ups:
                returnee = returnees[follow_up.returnee_id]
                # A step may call for another at once (invited: its reminder's time is worked
                # out next); taken here, so that each follow-up is written once per batch.
                for _step in range(STEPS):
                    action = next_action(_view(follow_up, returnee, recent.get(returnee.id, 0)), rules, now)
                    _carry_out(follow_up, returnee, action, now, actor)
                    if action.kind in ("invite", "remind"):
                        recent[returnee.id] = recent.get(returnee.id, 0) + 1
                    if _step == 0 or action.kind != "wait":
                        report.add(action.kind)
                    if action.kind in ("wait", "close") or follow_up.next_action_at is None \
                            or follow_up.next_action_at > now:
                        break
            db.session.commit()
            retried = False
        except StaleDataError:  # another dispatcher moved one of these first: its move stands
            db.session.rollback()
            report.add("skipped (moved by another dispatcher)")
            if not retried:  # the batch once more, as the rows are now
                last_id, retried = batch_start, True
    return report


def _carry_out(follow_up: FollowUp, returnee: Returnee, action, now: datetime, actor: str) -> None:
    if action.kind == "wait":
        follow_up.next_action_at = action.until
    elif action.kind == "invite":
        _queue_message(follow_up, returnee, "invitation", now)
        apply_transition(follow_up, "invite", actor=actor, at=now)
        follow_up.invited_at = now
        follow_up.next_action_at = now  # decide again at once: the next step's time
    elif action.kind == "remind":
        follow_up.reminders_sent += 1
        _queue_message(follow_up, returnee, "reminder", now)
        apply_transition(follow_up, "remind", actor=actor, at=now, detail=f"reminder {follow_up.reminders_sent}")
        follow_up.next_action_at = now
    elif action.kind == "to_phone":
        apply_transition(follow_up, "to_phone", actor=actor, at=now)
        follow_up.next_action_at = now
    elif action.kind == "close":
        close(follow_up, action.reason, actor=actor, at=now)


def _allowed(returnee: Returnee, follow_up_state: str | None) -> bool:
    """A message can stay queued for a while (a crash before sending, quiet hours): the returnee
    may have withdrawn or replied STOP since, or its follow-up may have closed."""
    return returnee.may_contact("sms") and follow_up_state != "closed"


def send_queued(now: datetime, report: DispatchReport | None = None, batch: int | None = None) -> DispatchReport:
    """Send the queued messages, `batch` at a time: one statement reads a batch with its
    returnees and follow-ups' states (on PostgreSQL locked, SKIP LOCKED: a second dispatcher
    takes the next ones), one cancels those no longer allowed, one claims the rest (`queued` ->
    `sending`, compare-and-set, RETURNING what this dispatcher won) and commits; then each is
    sent, and the results are marked in one statement and committed. A crash between the claim
    and the mark leaves the batch's messages `sending` (`unknown` after recover_uncertain):
    never sent twice, at most `batch` of them uncertain."""
    report = report or DispatchReport()
    batch = batch or SEND_BATCH
    sender = backend()
    rules = load_rules()
    last_id = 0
    while True:
        stmt = (select(SmsMessage.id, SmsMessage.follow_up_id, Returnee, FollowUp.state)
                .join(Returnee, Returnee.id == SmsMessage.returnee_id)
                .outerjoin(FollowUp, FollowUp.id == SmsMessage.follow_up_id)
                .where(SmsMessage.status == "queued", SmsMessage.id > last_id)
                .order_by(SmsMessage.id).limit(batch))
        if db.engine.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True, of=SmsMessage)
        rows = db.session.execute(stmt).all()
        if not rows:
            db.session.commit()
            return report
        last_id = rows[-1][0]
        cancel, claim, decide_again = [], [], []
        for message_id, follow_up_id, returnee, state in rows:
            if not _allowed(returnee, state):
                cancel.append(message_id)
                if follow_up_id is not None and state != "closed":
                    decide_again.append(follow_up_id)
            elif is_quiet(now, returnee.destination_country, rules.quiet_start, rules.quiet_end):
                report.add("held (quiet hours)")  # stays queued: the first dispatch after the quiet hours sends it
            else:
                claim.append(message_id)
        if cancel:
            cancelled = db.session.execute(
                update(SmsMessage).where(SmsMessage.id.in_(cancel), SmsMessage.status == "queued")
                .values(status="cancelled").execution_options(synchronize_session=False)).rowcount
            if cancelled:
                report.add("cancelled (no longer allowed)", cancelled)
            if decide_again:  # the refusal may close the follow-up: it is due again now (its version moves)
                db.session.execute(
                    update(FollowUp).where(FollowUp.id.in_(decide_again), FollowUp.state != "closed")
                    .values(next_action_at=now, version=FollowUp.version + 1)
                    .execution_options(synchronize_session=False))
        claimed = []
        if claim:
            claimed = db.session.execute(
                update(SmsMessage).where(SmsMessage.id.in_(claim), SmsMessage.status == "queued")
                .values(status="sending", claimed_at=now, backend=sender.name)
                .returning(SmsMessage.id, SmsMessage.to, SmsMessage.body)
                .execution_options(synchronize_session=False)).all()  # those another dispatcher did not take
        db.session.commit()
        results = []
        for message_id, to, body in sorted(claimed):
            result = sender.send(message_id, to, body)
            results.append({"m_id": message_id, "m_status": "sent" if result.ok else "failed",
                            "m_provider_id": result.provider_id, "m_error_code": result.error_code,
                            "m_sent_at": now if result.ok else None})
            report.add("sent" if result.ok else "failed")
        if results:  # one statement for the batch (an executemany)
            db.session.execute(
                update(SmsMessage.__table__).where(SmsMessage.__table__.c.id == bindparam("m_id"))
                .values(status=bindparam("m_status"), provider_id=bindparam("m_provider_id"),
                        error_code=bindparam("m_error_code"), sent_at=bindparam("m_sent_at")), results)
            db.session.commit()
        for failed in (r for r in results if r["m_status"] == "failed"):
            # The failure counts as an attempt of the follow-up; committed apart from the
            # message's status, which must stand even if another process moves the follow-up.
            def record(message_id=failed["m_id"], code=failed["m_error_code"]):
                outcome = record_sms_failure(db.session.get(SmsMessage, message_id), code, at=now)
                db.session.commit()
                return outcome
            outcome = retrying_stale(record)
            if outcome != "sms_failed":
                report.add({"opted_out": "number opted out at the carrier",
                            "unusable_number": "number unusable"}[outcome])


def recover_uncertain(now: datetime, report: DispatchReport | None = None) -> DispatchReport:
    """Messages claimed but never marked: the sender may or may not have sent them. They are
    not sent again."""
    report = report or DispatchReport()
    count = db.session.execute(
        update(SmsMessage).where(SmsMessage.status == "sending", SmsMessage.claimed_at < now - UNCERTAIN_AFTER)
        .values(status="unknown")).rowcount
    db.session.commit()
    if count:
        report.add("uncertain messages marked unknown", count)
    return report


@dataclass(frozen=True)
class Held:
    """Messages of one destination country that wait for its sending hours."""

    country: str
    invitations: int  # invitations due (the follow-up planned, its window open) or queued
    reminders: int  # reminders queued
    opens_at: datetime  # when the sending hours begin there, in UTC


def held_by_sending_hours(now: datetime) -> list[Held]:
    """What waits for sending hours now, per country where it is night (outside the plan's
    sending window): the outbox and the plan page say it, since nothing is written to the outbox
    before (an empty outbox on a first start at night explains itself). Two grouped counts."""
    rules = load_rules()
    today = now.date()
    counts: dict[str, dict[str, int]] = {}
    due = db.session.execute(
        select(Returnee.destination_country, func.count()).select_from(FollowUp)
        .join(Returnee, Returnee.id == FollowUp.returnee_id)
        .where(FollowUp.state == "planned", FollowUp.channel == "sms", FollowUp.window_opens <= today,
               FollowUp.window_closes >= today, Returnee.sms_clause())
        .group_by(Returnee.destination_country)).all()
    for country, n in due:
        counts.setdefault(country, {"invitation": 0, "reminder": 0})["invitation"] += n
    queued = db.session.execute(
        select(Returnee.destination_country, SmsMessage.kind, func.count()).select_from(SmsMessage)
        .join(Returnee, Returnee.id == SmsMessage.returnee_id)
        .where(SmsMessage.status == "queued", SmsMessage.kind.in_(("invitation", "reminder")))
        .group_by(Returnee.destination_country, SmsMessage.kind)).all()
    for country, kind, n in queued:
        counts.setdefault(country, {"invitation": 0, "reminder": 0})[kind] += n
    held = [Held(country, c["invitation"], c["reminder"],
                 next_allowed(now, country, rules.quiet_start, rules.quiet_end))
            for country, c in counts.items() if is_quiet(now, country, rules.quiet_start, rules.quiet_end)]
    return sorted(held, key=lambda h: (h.opens_at, h.country))


def dispatch(now: datetime, actor: str = "scheduler") -> DispatchReport:
    report = DispatchReport()
    recover_uncertain(now, report)
    decide(now, actor=actor, report=report)
    send_queued(now, report)
    if report.counts.get("cancelled (no longer allowed)"):
        decide(now, actor=actor, report=report)  # the follow-ups of the messages cancelled: closed now
    return report
