"""The contact protocol as a pure state machine: the named transitions and `next_action`."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone

import pytest

from scheduler.dispositions import REASONS, Facts, final_disposition
from scheduler.protocol import (
    OPEN_STATES, STATES, TRANSITIONS, Action, ContactRules, FollowUpView, InvalidTransition, next_action, transition,
)

UTC = timezone.utc

# -- transitions ------------------------------------------------------------------------------

ALLOWED = {
    "invite": {"planned": "invited"},
    "remind": {"invited": "reminded", "reminded": "reminded"},
    "to_phone": {"planned": "phone_task", "invited": "phone_task", "reminded": "phone_task"},
    # A call, a visit or a failed message is counted in any open state; it moves nothing by itself.
    "attempt": {state: state for state in ("planned", "invited", "reminded", "phone_task")},
    # Every ending is one transition, with a reason that scheduler/dispositions.py codes.
    "close": {state: "closed" for state in ("planned", "invited", "reminded", "phone_task")},
}


def test_the_transitions_under_test_are_all_there_are():
    assert set(TRANSITIONS) == set(ALLOWED)
    assert STATES == ("planned", "invited", "reminded", "phone_task", "closed")
    assert OPEN_STATES == {"planned", "invited", "reminded", "phone_task"}


@pytest.mark.parametrize("name", sorted(ALLOWED))
@pytest.mark.parametrize("state", STATES)
def test_every_transition_from_every_state(name, state):
    expected = ALLOWED[name].get(state)
    if expected is None:
        with pytest.raises(InvalidTransition, match=f"{name!r} cannot start from {state!r}"):
            transition(state, name)
    else:
        assert transition(state, name) == expected


def test_nothing_leaves_closed_and_unknown_names_are_refused():
    for name in TRANSITIONS:
        with pytest.raises(InvalidTransition):
            transition("closed", name)
    with pytest.raises(InvalidTransition, match="no transition called 'send'"):
        transition("planned", "send")
    with pytest.raises(InvalidTransition):
        transition("nowhere", "invite")
    assert issubclass(InvalidTransition, ValueError)


# -- next_action ------------------------------------------------------------------------------

RULES = ContactRules()  # reminders 3 and 7 days after the invitation, phone after 14, 5 attempts, 09-20, 2/week
OPENS, CLOSES = date(2026, 10, 1), date(2026, 10, 31)
# Tbilisi is UTC+4 all year: 08:00 UTC is noon there, well inside the sending window.
NOON_TBILISI = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
INVITED = datetime(2026, 10, 2, 8, 0, tzinfo=UTC)


def view(**values) -> FollowUpView:
    base = FollowUpView(state="planned", channel="sms", country="GE", window_opens=OPENS, window_closes=CLOSES,
                        invited_at=None, reminders_sent=0, attempts=0, messages_last_week=0, may_sms=True,
                        may_phone=True)
    return replace(base, **values)


def invited(**values) -> FollowUpView:
    return view(**{"state": "invited", "invited_at": INVITED, "messages_last_week": 1, **values})


def test_the_default_rules_are_the_documented_ones():
    assert RULES == ContactRules(reminder_days=(3, 7), phone_after_days=14, max_attempts=5,
                                 quiet_start=time(9), quiet_end=time(20), max_messages_per_week=2)


def test_before_the_window_it_waits_until_the_window_opens():
    action = next_action(view(), RULES, datetime(2026, 9, 30, 12, 0, tzinfo=UTC))
    assert action == Action("wait", until=datetime(2026, 10, 1, 0, 0, tzinfo=UTC))


def test_the_window_opens_at_midnight_utc_of_its_first_day():
    # 05:00 UTC on the first day is 09:00 in Tbilisi: open and inside the sending window.
    assert next_action(view(), RULES, datetime(2026, 10, 1, 5, 0, tzinfo=UTC)) == Action("invite")
    assert next_action(view(), RULES, datetime(2026, 9, 30, 23, 59, tzinfo=UTC)).until == datetime(
        2026, 10, 1, tzinfo=UTC)


def test_planned_sms_is_invited():
    assert next_action(view(), RULES, NOON_TBILISI) == Action("invite")


def test_planned_phone_only_goes_straight_to_the_phone_list():
    assert next_action(view(channel="phone"), RULES, NOON_TBILISI) == Action("to_phone")
    assert next_action(view(channel="phone", may_sms=False), RULES, NOON_TBILISI) == Action("to_phone")


def test_sms_channel_without_sms_consent_goes_to_the_phone_list():
    assert next_action(view(may_sms=False), RULES, NOON_TBILISI) == Action("to_phone")
    # ... even at night: a phone task is not a message to the returnee.
    assert next_action(view(may_sms=False), RULES, datetime(2026, 10, 5, 22, 0, tzinfo=UTC)) == Action("to_phone")


def test_sms_channel_with_sms_consent_but_no_phone_consent_is_still_invited():
    assert next_action(view(may_phone=False), RULES, NOON_TBILISI) == Action("invite")


def test_phone_channel_without_phone_consent_is_invited_by_sms():
    # The SMS link is the channel that works: better than no contact at all.
    assert next_action(view(channel="phone", may_phone=False), RULES, NOON_TBILISI) == Action("invite")


# -- nobody to reach: the window closes it ----------------------------------------------------

WINDOW_END = datetime(2026, 11, 1, tzinfo=UTC)


def test_planned_with_no_channel_that_works_waits_until_the_window_closes():
    nobody = view(may_sms=False, may_phone=False)
    for channel in ("sms", "phone"):
        assert next_action(replace(nobody, channel=channel), RULES, NOON_TBILISI) == Action("wait", until=WINDOW_END)
    # Before the window it waits for the window to open (and look again then), ...
    assert next_action(nobody, RULES, datetime(2026, 9, 1, tzinfo=UTC)) == Action(
        "wait", until=datetime(2026, 10, 1, tzinfo=UTC))
    # ... even at night (no message is due), and the last moment of the window still waits.
    assert next_action(nobody, RULES, datetime(2026, 10, 5, 22, 0, tzinfo=UTC)) == Action("wait", until=WINDOW_END)
    assert next_action(nobody, RULES, WINDOW_END - timedelta(seconds=1)) == Action("wait", until=WINDOW_END)
    # Then the window closes it.
    assert next_action(nobody, RULES, WINDOW_END) == Action("close", reason="window_closed")
    assert next_action(nobody, RULES, datetime(2026, 12, 1, tzinfo=UTC)) == Action("close", reason="window_closed")


@pytest.mark.parametrize("state", ["invited", "reminded", "phone_task"])
def test_no_channel_that_works_after_the_invitation_waits_until_the_window_closes(state):
    nobody = view(state=state, invited_at=INVITED, may_sms=False, may_phone=False)
    assert next_action(nobody, RULES, NOON_TBILISI) == Action("wait", until=WINDOW_END)
    assert next_action(nobody, RULES, WINDOW_END) == Action("close", reason="window_closed")


def test_a_phone_task_without_a_number_goes_to_the_phone_list():
    # Consent for calls but no working number: the partner looks for one, or visits.
    no_number = view(may_sms=False, may_phone=False, phone_task_without_number=True)
    for channel in ("sms", "phone"):
        assert next_action(replace(no_number, channel=channel), RULES, NOON_TBILISI) == Action("to_phone")
    # ... at night too: a phone task is not a message to the returnee.
    assert next_action(no_number, RULES, datetime(2026, 10, 5, 22, 0, tzinfo=UTC)) == Action("to_phone")
    # The number stopped working after the invitation.
    for state in ("invited", "reminded"):
        assert next_action(replace(no_number, state=state, invited_at=INVITED), RULES, NOON_TBILISI) == Action(
            "to_phone")
    # As a phone task it waits for the partner, then the window closes it.
    task = replace(no_number, state="phone_task", invited_at=INVITED)
    assert next_action(task, RULES, NOON_TBILISI) == Action("wait", until=WINDOW_END)
    assert next_action(task, RULES, WINDOW_END) == Action("close", reason="window_closed")


def test_sms_consent_with_a_phone_task_possible_still_prefers_the_chosen_channel():
    both = view(may_phone=False, phone_task_without_number=True)
    assert next_action(both, RULES, NOON_TBILISI) == Action("invite")
    assert next_action(replace(both, channel="phone"), RULES, NOON_TBILISI) == Action("to_phone")


# -- refusals: closed at once, by the reason --------------------------------------------------

REFUSALS = ("stop", "withdrew", "do_not_contact")


@pytest.mark.parametrize("refusal", REFUSALS)
@pytest.mark.parametrize("state", sorted(OPEN_STATES))
def test_a_refusal_closes_from_every_open_state_with_its_reason(state, refusal):
    refused = view(state=state, invited_at=None if state == "planned" else INVITED, refusal=refusal,
                   may_sms=False, may_phone=False)
    assert next_action(refused, RULES, NOON_TBILISI) == Action("close", reason=refusal)
    # Whatever else holds: at night, capped, at the maximum of attempts, a phone task possible.
    for other in (replace(refused, may_sms=True, may_phone=True), replace(refused, attempts=RULES.max_attempts),
                  replace(refused, messages_last_week=5), replace(refused, phone_task_without_number=True)):
        assert next_action(other, RULES, NOON_TBILISI) == Action("close", reason=refusal)
    assert next_action(refused, RULES, datetime(2026, 10, 5, 22, 0, tzinfo=UTC)) == Action("close", reason=refusal)


@pytest.mark.parametrize("refusal", REFUSALS)
def test_a_refusal_closes_before_the_window_and_after_it(refusal):
    refused = view(refusal=refusal, may_sms=False, may_phone=False)
    # Before the window opens: no reason to keep it open, nobody will be contacted.
    assert next_action(refused, RULES, datetime(2026, 9, 1, tzinfo=UTC)) == Action("close", reason=refusal)
    # After the window: the refusal is what is known, not a non-contact.
    assert next_action(refused, RULES, datetime(2026, 12, 1, tzinfo=UTC)) == Action("close", reason=refusal)


def test_a_closed_follow_up_with_a_refusal_needs_nothing_more():
    assert next_action(view(state="closed", refusal="stop"), RULES, NOON_TBILISI) == Action("wait", until=None)


def test_a_closed_follow_up_needs_nothing_more():
    assert next_action(view(state="closed"), RULES, NOON_TBILISI) == Action("wait", until=None)


def test_reminders_come_at_the_configured_days():
    first_due, second_due = INVITED + timedelta(days=3), INVITED + timedelta(days=7)
    assert next_action(invited(), RULES, first_due - timedelta(minutes=1)) == Action("wait", until=first_due)
    assert next_action(invited(), RULES, first_due) == Action("remind")
    after_one = invited(state="reminded", reminders_sent=1)
    assert next_action(after_one, RULES, second_due - timedelta(minutes=1)) == Action("wait", until=second_due)
    assert next_action(after_one, RULES, second_due) == Action("remind")


def test_other_reminder_days_are_followed():
    rules = replace(RULES, reminder_days=(1, 5))
    assert next_action(invited(), rules, INVITED + timedelta(days=1)) == Action("remind")
    assert next_action(invited(), RULES, INVITED + timedelta(days=1)).kind == "wait"
    after_one = invited(state="reminded", reminders_sent=1)
    assert next_action(after_one, rules, INVITED + timedelta(days=5)) == Action("remind")
    assert next_action(after_one, rules, INVITED + timedelta(days=4)) == Action(
        "wait", until=INVITED + timedelta(days=5))


def test_no_reminders_after_the_list():
    done = invited(state="reminded", reminders_sent=2)
    # Between the last reminder and the phone task: wait for the phone task, send nothing.
    assert next_action(done, RULES, INVITED + timedelta(days=10)) == Action("wait", until=INVITED + timedelta(days=14))
    no_reminders = replace(RULES, reminder_days=())
    assert next_action(invited(), no_reminders, INVITED + timedelta(days=5)) == Action(
        "wait", until=INVITED + timedelta(days=14))


def test_phone_task_after_phone_after_days():
    done = invited(state="reminded", reminders_sent=2)
    assert next_action(done, RULES, INVITED + timedelta(days=14) - timedelta(seconds=1)).kind == "wait"
    assert next_action(done, RULES, INVITED + timedelta(days=14)) == Action("to_phone")
    later = replace(RULES, phone_after_days=20)
    assert next_action(done, later, INVITED + timedelta(days=14)) == Action("wait", until=INVITED + timedelta(days=20))
    assert next_action(done, later, INVITED + timedelta(days=20)) == Action("to_phone")


def test_without_phone_consent_an_unanswered_invitation_waits_for_the_window_to_close():
    done = invited(state="reminded", reminders_sent=2, may_phone=False)
    assert next_action(done, RULES, INVITED + timedelta(days=15)) == Action(
        "wait", until=datetime(2026, 11, 1, tzinfo=UTC))


def test_a_number_that_stops_working_for_sms_after_the_invitation_moves_to_the_phone_list():
    assert next_action(invited(may_sms=False), RULES, INVITED + timedelta(hours=1)) == Action("to_phone")


def test_a_stop_after_the_invitation_closes_instead_of_moving_to_the_phone_list():
    # STOP holds across channels: no phone task either.
    stopped = invited(may_sms=False, may_phone=False, refusal="stop")
    assert next_action(stopped, RULES, INVITED + timedelta(hours=1)) == Action("close", reason="stop")


def test_the_weekly_cap_makes_a_due_message_wait():
    due = INVITED + timedelta(days=3)
    capped = invited(messages_last_week=2)
    assert next_action(capped, RULES, due) == Action("wait", until=due + timedelta(days=1))
    assert next_action(capped, replace(RULES, max_messages_per_week=3), due) == Action("remind")
    assert next_action(view(messages_last_week=2), RULES, NOON_TBILISI) == Action(
        "wait", until=NOON_TBILISI + timedelta(days=1))


def test_a_wait_never_goes_past_the_window():
    late = datetime(2026, 10, 31, 8, 0, tzinfo=UTC)
    end = datetime(2026, 11, 1, tzinfo=UTC)
    assert next_action(view(messages_last_week=2), RULES, late) == Action("wait", until=end)
    evening = datetime(2026, 10, 31, 17, 0, tzinfo=UTC)  # 21:00 in Tbilisi on the last day
    assert next_action(view(), RULES, evening) == Action("wait", until=datetime(2026, 11, 1, tzinfo=UTC))


def test_quiet_hours_wait_until_the_next_allowed_time():
    night = datetime(2026, 10, 5, 17, 0, tzinfo=UTC)  # 21:00 in Tbilisi
    assert next_action(view(), RULES, night) == Action("wait", until=datetime(2026, 10, 6, 5, 0, tzinfo=UTC))
    early = datetime(2026, 10, 5, 4, 30, tzinfo=UTC)  # 08:30 in Tbilisi
    assert next_action(view(), RULES, early) == Action("wait", until=datetime(2026, 10, 5, 5, 0, tzinfo=UTC))
    # The same moment is daytime in Dakar (UTC+0): invited at once.
    assert next_action(view(country="SN"), RULES, night) == Action("invite")
    # Reminders keep quiet hours too.
    reminder_at_night = INVITED.replace(hour=17) + timedelta(days=3)
    assert next_action(invited(), RULES, reminder_at_night) == Action(
        "wait", until=datetime(2026, 10, 6, 5, 0, tzinfo=UTC))


def test_other_quiet_hours_are_followed():
    rules = replace(RULES, quiet_start=time(10), quiet_end=time(18))
    at_9_30 = datetime(2026, 10, 5, 5, 30, tzinfo=UTC)  # 09:30 in Tbilisi
    assert next_action(view(), RULES, at_9_30) == Action("invite")
    assert next_action(view(), rules, at_9_30) == Action("wait", until=datetime(2026, 10, 5, 6, 0, tzinfo=UTC))


@pytest.mark.parametrize("state", sorted(OPEN_STATES))
def test_window_closed_closes_with_its_reason(state):
    end = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    follow_up = view(state=state, invited_at=None if state == "planned" else INVITED)
    assert next_action(follow_up, RULES, end) == Action("close", reason="window_closed")
    assert next_action(follow_up, RULES, end + timedelta(days=30)) == Action("close", reason="window_closed")
    assert next_action(follow_up, RULES, end - timedelta(seconds=1)).kind != "close"


def test_the_window_closing_comes_before_the_maximum_of_attempts():
    both = view(state="phone_task", invited_at=INVITED, attempts=RULES.max_attempts)
    assert next_action(both, RULES, datetime(2026, 11, 1, tzinfo=UTC)) == Action("close", reason="window_closed")


def test_phone_task_closes_after_the_maximum_attempts():
    task = view(state="phone_task", invited_at=INVITED, attempts=4)
    assert next_action(task, RULES, NOON_TBILISI) == Action("wait", until=datetime(2026, 11, 1, tzinfo=UTC))
    assert next_action(replace(task, attempts=5), RULES, NOON_TBILISI) == Action("close", reason="max_attempts")
    assert next_action(replace(task, attempts=6), RULES, NOON_TBILISI) == Action("close", reason="max_attempts")
    assert next_action(replace(task, attempts=5), replace(RULES, max_attempts=6), NOON_TBILISI).kind == "wait"


@pytest.mark.parametrize("state", ["invited", "reminded", "phone_task"])
def test_the_maximum_attempts_closes_invited_reminded_and_phone_tasks(state):
    # Failed messages count as attempts too: an invited follow-up can reach the maximum.
    below = view(state=state, invited_at=INVITED, attempts=RULES.max_attempts - 1, reminders_sent=1)
    assert next_action(below, RULES, NOON_TBILISI).kind != "close"
    at_max = replace(below, attempts=RULES.max_attempts)
    assert next_action(at_max, RULES, NOON_TBILISI) == Action("close", reason="max_attempts")
    # ... whatever else is due or held: a reminder, quiet hours, the weekly cap.
    assert next_action(at_max, RULES, INVITED + timedelta(days=7)) == Action("close", reason="max_attempts")
    assert next_action(at_max, RULES, datetime(2026, 10, 5, 22, 0, tzinfo=UTC)) == Action(
        "close", reason="max_attempts")
    assert next_action(replace(at_max, messages_last_week=2), RULES, NOON_TBILISI) == Action(
        "close", reason="max_attempts")
    assert next_action(at_max, replace(RULES, max_attempts=3), NOON_TBILISI) == Action("close", reason="max_attempts")


def test_the_maximum_attempts_closes_a_planned_follow_up_too():
    # Attempts recorded before an invitation (a partner called first) count the same way.
    assert next_action(view(attempts=RULES.max_attempts), RULES, NOON_TBILISI) == Action(
        "close", reason="max_attempts")


def test_every_reason_the_protocol_closes_with_has_a_disposition():
    assert {"window_closed", "max_attempts", *REFUSALS} <= set(REASONS)
    for refusal in REFUSALS:
        assert final_disposition(refusal) == "2.11"
    assert final_disposition("window_closed") == final_disposition("max_attempts") == "2.20"
    assert final_disposition("window_closed", Facts(contacted=True)) == "2.21"
    assert final_disposition("max_attempts", Facts(number_unusable=True)) == "3.90"
