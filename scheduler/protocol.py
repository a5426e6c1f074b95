"""The contact protocol as an explicit state machine, in plain Python.

    planned --invite--> invited --remind--> reminded --remind--> reminded
       |                   |                   |
       +------to_phone-----+-------to_phone----+--> phone_task --attempt--> phone_task
    any open state --close (a reason: completed, window_closed, stop, ...)--> closed, with the
                     AAPOR code that scheduler/dispositions.py gives the reason

`next_action` decides what the dispatcher does with one follow-up at a given moment; the
dispatcher carries it out with the named transition, so the web form, the scheduler and the CLI
change a follow-up the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from scheduler.quiet_hours import is_quiet, next_allowed

STATES = ("planned", "invited", "reminded", "phone_task", "closed")
OPEN_STATES = frozenset(STATES[:-1])

# name: (states it may start from, state it leads to; None = stays where it is)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "invite": (frozenset({"planned"}), "invited"),
    "remind": (frozenset({"invited", "reminded"}), "reminded"),
    "to_phone": (frozenset({"planned", "invited", "reminded"}), "phone_task"),
    "attempt": (OPEN_STATES, None),
    # Every ending goes through `close`, with a reason that `dispositions.final_disposition` codes.
    "close": (OPEN_STATES, "closed"),
}


class InvalidTransition(ValueError):
    pass


def transition(state: str, name: str) -> str:
    if name not in TRANSITIONS:
        raise InvalidTransition(f"no transition called {name!r}")
    sources, target = TRANSITIONS[name]
    if state not in sources:
        raise InvalidTransition(f"{name!r} cannot start from {state!r}")
    return target or state


@dataclass(frozen=True)
class ContactRules:
    """The plan's contact settings (see the admin page *Follow-up plan*)."""

    reminder_days: tuple[int, ...] = (3, 7)  # days after the invitation
    phone_after_days: int = 14  # an unanswered invitation becomes a phone task
    max_attempts: int = 5  # attempts (calls, visits, failed messages) before the follow-up closes
    quiet_start: time = time(9, 0)  # sending window in the returnee's local time
    quiet_end: time = time(20, 0)
    max_messages_per_week: int = 2
    # Minutes before a phone task comes back after an attempt that reached nobody.
    retry_delays: tuple[tuple[str, int], ...] = (("no_answer", 240), ("busy", 60), ("switched_off", 240),
                                                  ("absent", 1440))


RETRY_OUTCOMES = ("no_answer", "busy", "switched_off", "absent")


def parse_retry_delays(text: str) -> dict[str, int]:
    """'no_answer=240,busy=60' -> {outcome: minutes}; ValueError naming what is wrong."""
    delays = {}
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        outcome, _, minutes = part.partition("=")
        outcome = outcome.strip()
        if outcome not in RETRY_OUTCOMES or not minutes.strip().isdigit() or not 0 < int(minutes) <= 43200:
            raise ValueError(f"{part!r}: write outcome=minutes, outcome one of {', '.join(RETRY_OUTCOMES)}, "
                             "minutes from 1 to 43200")
        delays[outcome] = int(minutes)
    return delays


@dataclass(frozen=True)
class FollowUpView:
    """What the protocol needs to know of one follow-up and its returnee."""

    state: str
    channel: str  # sms or phone
    country: str
    window_opens: date
    window_closes: date  # last day of the window
    invited_at: datetime | None
    reminders_sent: int
    attempts: int
    messages_last_week: int
    may_sms: bool
    may_phone: bool
    # Why the returnee may not be contacted at all (stop, withdrew, do_not_contact), or None.
    refusal: str | None = None
    # Consent for phone calls, but no working number: a task for the partner to find one or visit.
    phone_task_without_number: bool = False


@dataclass(frozen=True)
class Action:
    kind: str  # wait, invite, remind, to_phone, close
    until: datetime | None = None  # for wait: when to look again
    reason: str | None = None  # for close: the reason dispositions.final_disposition codes


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def next_action(view: FollowUpView, rules: ContactRules, now: datetime) -> Action:
    if view.state not in OPEN_STATES:
        return Action("wait", until=None)
    if view.refusal:  # STOP, withdrawal, do-not-contact: never contacted again, by any channel
        return Action("close", reason=view.refusal)
    closes = _start_of(view.window_closes + timedelta(days=1))
    if now >= closes:
        return Action("close", reason="window_closed")
    if view.attempts >= rules.max_attempts:
        return Action("close", reason="max_attempts")
    opens = _start_of(view.window_opens)
    if now < opens:
        return Action("wait", until=opens)
    phone_possible = view.may_phone or view.phone_task_without_number

    def send(kind: str) -> Action:
        if view.messages_last_week >= rules.max_messages_per_week:
            return Action("wait", until=min(now + timedelta(days=1), closes))
        if is_quiet(now, view.country, rules.quiet_start, rules.quiet_end):
            return Action("wait", until=min(next_allowed(now, view.country, rules.quiet_start, rules.quiet_end), closes))
        return Action(kind)

    if view.state == "planned":
        if view.may_sms and (view.channel == "sms" or not phone_possible):
            return send("invite")
        # Nobody to reach yet (no consent for a channel that works): the window closes it.
        return Action("to_phone") if phone_possible else Action("wait", until=closes)
    if view.state in ("invited", "reminded"):
        invited = view.invited_at or now
        if not view.may_sms:  # the number stopped working for SMS
            return Action("to_phone") if phone_possible else Action("wait", until=closes)
        if view.reminders_sent < len(rules.reminder_days):
            due = invited + timedelta(days=rules.reminder_days[view.reminders_sent])
            if now >= due:
                return send("remind")
        phone_due = invited + timedelta(days=rules.phone_after_days)
        if now >= phone_due and phone_possible:
            return Action("to_phone")
        upcoming = [phone_due] if phone_possible else []
        if view.reminders_sent < len(rules.reminder_days):
            upcoming.append(invited + timedelta(days=rules.reminder_days[view.reminders_sent]))
        return Action("wait", until=min([*upcoming, closes]))
    # phone_task: the partner calls; the window or the maximum of attempts closes it.
    return Action("wait", until=closes)
