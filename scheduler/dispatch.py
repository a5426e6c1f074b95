"""Dispatch: carry out what the contact protocol says for every follow-up that is due.

Crash-safe and safe to run twice at once:
1. decide: each due follow-up is moved by its named transition and, when a message is called
   for, the message is written to the outbox as `queued` in the same transaction (a follow-up
   row carries a version: a second dispatcher's stale write is refused and rolled back);
2. send: each queued message is claimed (`queued` -> `sending`, a compare-and-set UPDATE,
   committed) before the backend is called, then marked `sent` or `failed`. A crash before the
   claim leaves it queued (sent next time, unless the returnee may no longer be contacted:
   `cancelled`; held while it is night where they live); a crash after leaves it `sending`, which
   `recover_uncertain` turns into `unknown`: never sent a second time.
On PostgreSQL the due follow-ups are read FOR UPDATE SKIP LOCKED, so two dispatchers share the
work instead of racing for it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone

from flask import current_app
from sqlalchemy import func, select, update
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
    token = create_link(returnee, follow_up.wave, expires)
    link = f"{current_app.config['PUBLIC_BASE_URL']}/s/{token}"
    partner = (returnee.local_partner or returnee.partner).signature
    body = invitation_text(returnee.language, partner, link, reminder=(kind == "reminder"))
    db.session.add(SmsMessage(follow_up_id=follow_up.id, returnee_id=returnee.id, kind=kind,
                              sequence=follow_up.reminders_sent if kind == "reminder" else 0,
                              to=returnee.phone, body=body, status="queued", created_at=now))


def decide(now: datetime, *, actor: str = "scheduler", report: DispatchReport | None = None) -> DispatchReport:
    """Move every due follow-up one step, in batches."""
    report = report or DispatchReport()
    rules = load_rules()
    last_id = 0
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
        last_id = follow_ups[-1].id
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
                action = next_action(_view(follow_up, returnee, recent.get(returnee.id, 0)), rules, now)
                _carry_out(follow_up, returnee, action, now, actor)
                if action.kind in ("invite", "remind"):
                    recent[returnee.id] = recent.get(returnee.id, 0) + 1
                report.add(action.kind)
            db.session.commit()
        except StaleDataError:  # another dispatcher moved one of these first: its move stands
            db.session.rollback()
            report.add("skipped (moved by another dispatcher)")
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


def _still_allowed(message: SmsMessage, returnee: Returnee) -> bool:
    """A message can stay queued for a while (a crash before sending, quiet hours): the returnee
    may have withdrawn or replied STOP since, or its follow-up may have closed."""
    follow_up = db.session.get(FollowUp, message.follow_up_id) if message.follow_up_id else None
    return returnee.may_contact("sms") and (follow_up is None or follow_up.state != "closed")


def send_queued(now: datetime, report: DispatchReport | None = None) -> DispatchReport:
    report = report or DispatchReport()
    sender = backend()
    rules = load_rules()
    ids = db.session.scalars(select(SmsMessage.id).where(SmsMessage.status == "queued").order_by(SmsMessage.id)).all()
    db.session.commit()
    for message_id in ids:
        message = db.session.get(SmsMessage, message_id)
        returnee = db.session.get(Returnee, message.returnee_id)
        if not _still_allowed(message, returnee):
            cancelled = db.session.execute(
                update(SmsMessage).where(SmsMessage.id == message_id, SmsMessage.status == "queued")
                .values(status="cancelled")).rowcount
            db.session.commit()
            if cancelled:
                report.add("cancelled (no longer allowed)")
            continue
        if is_quiet(now, returnee.destination_country, rules.quiet_start, rules.quiet_end):
            db.session.commit()
            report.add("held (quiet hours)")
            continue  # stays queued: the first dispatch after the quiet hours sends it
        db.session.commit()
        claimed = db.session.execute(
            update(SmsMessage).where(SmsMessage.id == message_id, SmsMessage.status == "queued")
            .values(status="sending", claimed_at=now, backend=sender.name)).rowcount
        db.session.commit()
        if claimed != 1:
            continue  # another dispatcher has it
        message = db.session.get(SmsMessage, message_id)
        result = sender.send(message.id, message.to, message.body)
        message.status = "sent" if result.ok else "failed"
        message.provider_id = result.provider_id
        message.error_code = result.error_code
        message.sent_at = now if result.ok else None
        db.session.commit()
        if not result.ok:
            # The failure counts as an attempt of the follow-up; committed apart from the
            # message's status, which must stand even if another process moves the follow-up.
            def record(message_id=message_id, code=result.error_code):
                outcome = record_sms_failure(db.session.get(SmsMessage, message_id), code, at=now)
                db.session.commit()
                return outcome
            outcome = retrying_stale(record)
            if outcome != "sms_failed":
                report.add({"opted_out": "number opted out at the carrier",
                            "unusable_number": "number unusable"}[outcome])
        report.add("sent" if result.ok else "failed")
    return report


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
               FollowUp.window_closes >= today, Returnee.contactable_clause(), Returnee.consent_sms,
               Returnee.phone_lookup.is_not(None), Returnee.phone_unusable_at.is_(None))
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
    # A step may call for another at once (invited -> its reminder time is computed): one more pass.
    decide(now, actor=actor, report=DispatchReport())
    send_queued(now, report)
    return report
