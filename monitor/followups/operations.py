"""The named actions that change a follow-up, shared by the dispatcher, the web forms, the
webhooks, the import and the CLI. Every ending goes through `close`, which codes the outcome
with scheduler/dispositions.py: one disposition per follow-up, written in one place."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from monitor import audit
from monitor.extensions import db
from monitor.models import (
    ConsentEvent, ContactAttempt, ContactSettings, FollowUp, FollowUpEvent, Response, Returnee, SmsMessage, User,
)
from monitor.models.types import utcnow
from monitor.responses.operations import apply_scores, questionnaire_of, stored_answers
from scheduler.dispositions import ATTEMPT_OUTCOMES, Facts, final_disposition, recorded
from scheduler.protocol import OPEN_STATES, ContactRules, parse_retry_delays, transition
from scheduler.quiet_hours import country_zone


def load_rules() -> ContactRules:
    """The plan's contact rules, as the protocol reads them."""
    settings = db.session.get(ContactSettings, 1) or ContactSettings()
    days = tuple(int(d) for d in (settings.reminder_days or "").split(",") if d.strip())
    return ContactRules(reminder_days=days, phone_after_days=settings.phone_after_days,
                        max_attempts=settings.max_attempts, quiet_start=settings.quiet_start or time(9),
                        quiet_end=settings.quiet_end or time(20),
                        max_messages_per_week=settings.max_messages_per_week,
                        retry_delays=tuple(parse_retry_delays(settings.retry_delays or "").items()))


def apply_transition(follow_up: FollowUp, name: str, *, actor: str, at: datetime | None = None,
                     detail: str | None = None) -> None:
    """The one way a follow-up changes state: recorded with its time and actor."""
    at = at or utcnow()
    before = follow_up.state
    follow_up.state = transition(before, name)
    # Added beside the follow-up rather than appended to `follow_up.events`, which would load
    # every earlier event first (a statement per follow-up moved in a batch).
    db.session.add(FollowUpEvent(follow_up=follow_up, at=at, transition=name, from_state=before,
                                 to_state=follow_up.state, actor=actor[:254], detail=detail[:200] if detail else None))
    if follow_up.state == "closed":
        follow_up.closed_at = at
        follow_up.next_action_at = None


def follow_up_for(returnee: Returnee, wave: str) -> FollowUp | None:
    return db.session.scalar(select(FollowUp).where(FollowUp.returnee_id == returnee.id, FollowUp.wave == wave))


def response_of(follow_up: FollowUp) -> Response | None:
    if follow_up.id is None:
        return None
    return db.session.scalar(select(Response).where(Response.follow_up_id == follow_up.id))


def facts_of(follow_up: FollowUp, response: Response | None) -> Facts:
    answers = stored_answers(response) if response is not None else {}
    partial = bool(answers) and questionnaire_of(response).partial_reached(answers, response.first_follow_up)
    return Facts(contacted=follow_up.contacted_at is not None, started=bool(answers), partial_reached=partial,
                 number_unusable=follow_up.returnee.phone_unusable_at is not None)


def close(follow_up: FollowUp, reason: str, *, actor: str, at: datetime | None = None, detail: str | None = None,
          code: str | None = None) -> str | None:
    """End an open follow-up with the disposition that `reason` and what is known give (or the
    recorded `code` of an import). A response still open ends with it: its answers are kept, and
    scored and flagged as its code says. Returns the disposition; a closed follow-up is left alone."""
    if follow_up.state not in OPEN_STATES:
        return follow_up.disposition
    at = at or utcnow()
    response = response_of(follow_up)
    disposition = recorded(code) if code else final_disposition(reason, facts_of(follow_up, response))
    apply_transition(follow_up, "close", actor=actor, at=at,
                     detail=f"{reason}: {disposition}" + (f" ({detail})" if detail else ""))
    follow_up.disposition = disposition
    if response is not None:
        if response.completed_at is None:
            response.completed_at = at
        apply_scores(response)
    return disposition


def recode(follow_up: FollowUp, code: str, *, actor: str, at: datetime) -> None:
    """A closed follow-up's outcome recorded anew as data (a re-import of paper or historical
    data): the code is checked by the same table, the change is an event of its own, and the
    response is scored and flagged as the new code says (as `close` does)."""
    disposition = recorded(code)
    if disposition != follow_up.disposition or follow_up.closed_at != at:
        follow_up.events.append(FollowUpEvent(at=at, transition="recode", from_state="closed", to_state="closed",
                                              actor=actor, detail=f"{follow_up.disposition} -> {disposition}"))
        follow_up.disposition = disposition
        follow_up.closed_at = at
    response = response_of(follow_up)
    if response is not None:
        apply_scores(response)


def mark_contacted(follow_up: FollowUp, at: datetime | None = None) -> None:
    """A consent answer on the link or an answered call: never a link merely opened."""
    if follow_up.contacted_at is None:
        follow_up.contacted_at = at or utcnow()


def complete_response(response: Response, *, at: datetime | None = None, user: User | None = None,
                      actor: str | None = None) -> None:
    """The questionnaire saved as complete: the follow-up closes as 1.1, the response is scored."""
    actor = actor or (user.email if user else "returnee")
    at = response.completed_at or at or utcnow()
    response.completed_at = at
    follow_up = response.follow_up
    mark_contacted(follow_up, at)
    if follow_up.state in OPEN_STATES:
        close(follow_up, "completed", actor=actor, at=at, detail=f"response {response.id} ({response.mode})")
    else:  # closed a moment before (its window): the response is scored as that outcome says
        apply_scores(response)
    audit.record("response.complete", response, user=user, actor=actor,
                 details={"wave": response.wave, "mode": response.mode, "disposition": follow_up.disposition})


def record_attempt(follow_up: FollowUp, outcome: str, *, channel: str, actor: str, at: datetime | None = None,
                   user: User | None = None, note: str | None = None,
                   callback_at: datetime | None = None, form_key: str | None = None) -> ContactAttempt:
    """One call, visit or failed message: counted, and acted on as ATTEMPT_OUTCOMES says. An
    attempt that reached nobody comes back on the work list after the plan's delay for its
    outcome; "call_back" at `callback_at` (UTC), the moment the returnee asked for."""
    rule = ATTEMPT_OUTCOMES[outcome]
    at = at or utcnow()
    if outcome == "call_back" and callback_at is None:
        raise ValueError("a call-back needs its date and time")
    attempt = ContactAttempt(follow_up_id=follow_up.id, at=at, channel=channel, outcome=outcome,
                             user_id=user.id if user else None, note=note, form_key=form_key)
    db.session.add(attempt)
    if rule.number_unusable and follow_up.returnee.phone_unusable_at is None:
        follow_up.returnee.phone_unusable_at = at  # even when reported after the follow-up closed
    if follow_up.state not in OPEN_STATES:
        return attempt
    follow_up.attempts += 1
    apply_transition(follow_up, "attempt", actor=actor, at=at, detail=outcome)
    if rule.contact:
        mark_contacted(follow_up, at)
    if rule.closes:
        close(follow_up, rule.closes, actor=actor, at=at, detail=outcome)
    else:
        follow_up.next_action_at = at  # the dispatcher decides what follows (the maximum closes it)
        delay = dict(load_rules().retry_delays).get(outcome)
        follow_up.callback_at = callback_at if outcome == "call_back" else (
            at + timedelta(minutes=delay) if delay else None)
    return attempt


def local_moment(country: str, day: date, clock: time) -> datetime:
    """A date and time as the returnee lives it (their country's zone), in UTC."""
    return datetime.combine(day, clock, tzinfo=country_zone(country)).astimezone(timezone.utc)


def close_open_follow_ups(returnee: Returnee, reason: str, *, actor: str, at: datetime | None = None,
                          detail: str | None = None) -> int:
    """STOP, a withdrawal, do-not-contact: every open follow-up of the returnee ends at once, and
    a message still queued for them is cancelled in the same transaction (the dispatcher claims
    only queued messages, so it can no longer send it)."""
    db.session.execute(update(SmsMessage).where(SmsMessage.returnee_id == returnee.id, SmsMessage.status == "queued")
                       .values(status="cancelled").execution_options(synchronize_session="fetch"))
    count = 0
    for follow_up in db.session.scalars(select(FollowUp).where(
            FollowUp.returnee_id == returnee.id, FollowUp.state != "closed").order_by(FollowUp.id)):
        close(follow_up, reason, actor=actor, at=at, detail=detail)
        count += 1
    return count


def opt_out(returnee: Returnee, *, actor: str, via: str, at: datetime | None = None) -> bool:
    """STOP (a reply, the link's page, the carrier): no contact by any channel until START or new
    consent. Returns False when the returnee had opted out already. The opt-out is claimed by a
    conditional UPDATE: of two STOPs at once (two presses of the link's page, two texts) one
    records the event, the other finds it done."""
    at = at or utcnow()
    if not _set_opted_out(returnee, None, at):
        return False
    db.session.add(ConsentEvent(returnee_id=returnee.id, kind="stop", at=at, channels="", method=stop_method(via)))
    close_open_follow_ups(returnee, "stop", actor=actor, at=at, detail=via)
    audit.record("returnee.sms.stop", returnee, actor=actor, details={"via": via})
    return True


def _set_opted_out(returnee: Returnee, expected: datetime | None, value: datetime | None) -> bool:
    """opted_out_at from `expected` (None: not opted out) to `value`, if no one changed it
    meanwhile; the loaded returnee follows."""
    column = Returnee.opted_out_at
    claimed = db.session.execute(
        update(Returnee).where(Returnee.id == returnee.id, column.is_(None) if expected is None else column.is_not(None))
        .values(opted_out_at=value).execution_options(synchronize_session=False)).rowcount
    if claimed:
        set_committed_value(returnee, "opted_out_at", value)
    return bool(claimed)


def stop_method(via: str) -> str:
    """How a STOP reached us, as a consent event's method: a text, the link's page, the carrier."""
    return "carrier" if via.startswith("Twilio") else via[:20]


def opt_in(returnee: Returnee, *, actor: str, at: datetime | None = None) -> bool:
    """START: contact is possible again from the next wave (closed follow-ups stay closed).
    Claimed like the opt-out: two STARTs at once record one event."""
    if returnee.opted_out_at is None or not _set_opted_out(returnee, returnee.opted_out_at, None):
        return False
    db.session.add(ConsentEvent(returnee_id=returnee.id, kind="start", at=at or utcnow(), channels="",
                                method="sms"))
    audit.record("returnee.sms.start", returnee, actor=actor)
    return True


# Twilio's error codes that say something about the returnee's number, not about this message.
OPTED_OUT_AT_PROVIDER = {"21610"}  # the number replied STOP to the carrier or to Twilio
UNUSABLE_NUMBER = {"21211", "21614"}  # not a valid number / not a mobile number


def record_sms_failure(message: SmsMessage, error_code: str | None, *, at: datetime | None = None,
                       actor: str = "scheduler") -> str:
    """A message that could not be delivered (the send call, or a status callback): an attempt
    of its follow-up; an opt-out at the carrier is a STOP; an invalid number is remembered."""
    at = at or utcnow()
    outcome = ("opted_out" if error_code in OPTED_OUT_AT_PROVIDER else
               "unusable_number" if error_code in UNUSABLE_NUMBER else "sms_failed")
    follow_up = db.session.get(FollowUp, message.follow_up_id) if message.follow_up_id else None
    returnee = db.session.get(Returnee, message.returnee_id)
    if follow_up is not None:
        record_attempt(follow_up, outcome, channel="sms", actor=actor, at=at,
                       note=f"Twilio error {error_code}" if error_code else None)
    elif ATTEMPT_OUTCOMES[outcome].number_unusable and returnee.phone_unusable_at is None:
        returnee.phone_unusable_at = at  # a message of no follow-up: the number is remembered all the same
    if outcome == "opted_out":
        opt_out(returnee, actor=actor, via=f"Twilio error {error_code}", at=at)
    return outcome


def retrying_stale(action, attempts: int = 3):
    """Run `action` (which commits) again when another process moved a follow-up first."""
    for attempt in range(attempts):
        try:
            return action()
        except StaleDataError:
            db.session.rollback()
            if attempt == attempts - 1:
                raise
