"""The contact protocol as an explicit state machine, in plain Python.

    planned --invite--> invited --remind--> reminded --remind--> reminded
       |                   |                   |
       +------to_phone-----+-------to_phone----+--> phone_task --attempt--> phone_task
    any open state --complete / refuse / close_window / cancel / not_eligible--> closed

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
    "attempt": (frozenset({"invited", "reminded", "phone_task"}), None),
    "complete": (OPEN_STATES, "closed"),
    "refuse": (OPEN_STATES, "closed"),
    "close_window": (OPEN_STATES, "closed"),
    "cancel": (OPEN_STATES, "closed"),
    "not_eligible": (OPEN_STATES, "closed"),
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
    max_attempts: int = 5  # phone attempts before closing as non-contact
    quiet_start: time = time(9, 0)  # sending window in the returnee's local time
    quiet_end: time = time(20, 0)
    max_messages_per_week: int = 2


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


@dataclass(frozen=True)
class Action:
    kind: str  # wait, invite, remind, to_phone, close_window, cancel
    until: datetime | None = None  # for wait: when to look again
    disposition: str | None = None  # for close_window and cancel


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def next_action(view: FollowUpView, rules: ContactRules, now: datetime) -> Action:
    if view.state not in OPEN_STATES:
        return Action("wait", until=None)
    if not (view.may_sms or view.may_phone):
        return Action("cancel", disposition="cancelled")  # withdrew, STOP, do-not-contact
    closes = _start_of(view.window_closes + timedelta(days=1))
    if now >= closes:
        return Action("close_window", disposition="non-contact")
    opens = _start_of(view.window_opens)
    if now < opens:
        return Action("wait", until=opens)

    def send(kind: str) -> Action:
        if view.messages_last_week >= rules.max_messages_per_week:
            return Action("wait", until=min(now + timedelta(days=1), closes))
        if is_quiet(now, view.country, rules.quiet_start, rules.quiet_end):
            return Action("wait", until=min(next_allowed(now, view.country, rules.quiet_start, rules.quiet_end), closes))
        return Action(kind)

    if view.state == "planned":
        if view.channel == "sms" and view.may_sms:
            return send("invite")
        return Action("to_phone") if view.may_phone else Action("cancel", disposition="cancelled")
    if view.state in ("invited", "reminded"):
        invited = view.invited_at or now
        if not view.may_sms:  # replied STOP, consent for SMS withdrawn
            return Action("to_phone") if view.may_phone else Action("cancel", disposition="cancelled")
        if view.reminders_sent < len(rules.reminder_days):
            due = invited + timedelta(days=rules.reminder_days[view.reminders_sent])
            if now >= due:
                return send("remind")
        phone_due = invited + timedelta(days=rules.phone_after_days)
        if now >= phone_due and view.may_phone:
            return Action("to_phone")
        upcoming = [phone_due] if view.may_phone else []
        if view.reminders_sent < len(rules.reminder_days):
            upcoming.append(invited + timedelta(days=rules.reminder_days[view.reminders_sent]))
        return Action("wait", until=min([*upcoming, closes]))
    # phone_task: the partner calls; the window closes it if nobody reaches the returnee.
    if view.attempts >= rules.max_attempts:
        return Action("close_window", disposition="non-contact")
    return Action("wait", until=closes)
