"""Call attempts through the one operation the work list will call (record_attempt): counted,
acted on as the outcome table says, closing through the disposition table. Both databases."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from monitor.extensions import db
from monitor.followups.operations import record_attempt
from monitor.models import ContactAttempt, FollowUp
from monitor.returnees import operations
from scheduler.dispatch import dispatch
from tests.conftest import make_follow_up, make_returnee


def phone_task(orgs, code="GE-A-001"):
    returnee = make_returnee(orgs["caritas"], code, orgs["caritas-ge"], preferred_channel="phone")
    follow_up = make_follow_up(returnee, "m1", state="phone_task")
    db.session.commit()
    return follow_up


def soon(minutes=1):
    return datetime.now(timezone.utc) + timedelta(minutes=minutes)


@pytest.mark.parametrize("outcome, code", [("refused", "2.11"), ("language_barrier", "2.33"), ("too_ill", "2.32"),
                                           ("deceased", "2.31"), ("living_abroad", "2.361")])
def test_an_outcome_that_ends_the_follow_up(app, users, orgs, outcome, code):
    follow_up = phone_task(orgs)
    record_attempt(follow_up, outcome, channel="phone", actor="staff", user=users["caritas-ge"], note="spoke to him")
    db.session.commit()
    db.session.expire_all()
    follow_up = db.session.get(FollowUp, follow_up.id)
    assert (follow_up.state, follow_up.disposition, follow_up.attempts) == ("closed", code, 1)
    attempt = db.session.scalar(select(ContactAttempt))
    assert (attempt.outcome, attempt.user_id, attempt.note) == (outcome, users["caritas-ge"].id, "spoke to him")


@pytest.mark.parametrize("outcomes, code", [(["no_answer"] * 5, "2.20"), (["busy", "call_back", "no_answer",
                                                                               "switched_off", "absent"], "2.21")])
def test_the_maximum_of_attempts_closes_the_follow_up(app, orgs, outcomes, code):
    follow_up = phone_task(orgs)
    for outcome in outcomes[:-1]:
        record_attempt(follow_up, outcome, channel="phone", actor="staff",
                       callback_at=soon(60) if outcome == "call_back" else None)
    db.session.commit()
    dispatch(soon())
    assert db.session.get(FollowUp, follow_up.id).state == "phone_task"  # four attempts: still open
    record_attempt(db.session.get(FollowUp, follow_up.id), outcomes[-1], channel="visit", actor="staff")
    db.session.commit()
    dispatch(soon(2))
    db.session.expire_all()
    follow_up = db.session.get(FollowUp, follow_up.id)
    assert (follow_up.state, follow_up.disposition, follow_up.attempts) == ("closed", code, 5)
    assert "max_attempts" in follow_up.events[-1].detail


def test_a_wrong_number_is_remembered_until_the_number_changes(app, orgs):
    follow_up = phone_task(orgs)
    record_attempt(follow_up, "wrong_number", channel="phone", actor="staff")
    db.session.commit()
    returnee = follow_up.returnee
    assert returnee.phone_unusable_at is not None and not returnee.may_contact("phone")
    assert returnee.may_contact("phone", without_number=True)  # still a task: find the number, or visit
    # The window closes with nobody reached: unknown eligibility.
    dispatch(datetime.combine(follow_up.window_closes + timedelta(days=1), time(8), tzinfo=timezone.utc))
    db.session.expire_all()
    assert db.session.get(FollowUp, follow_up.id).disposition == "3.90"
    operations.update_case(returnee, {"phone": "+995555765432"}, actor="staff")
    db.session.commit()
    assert returnee.phone_unusable_at is None and returnee.may_contact("phone")


def test_an_attempt_that_reaches_nobody_comes_back_after_the_plans_delay(app, orgs):
    from monitor.models import ContactSettings

    db.session.get(ContactSettings, 1).retry_delays = "no_answer=30,busy=10"
    follow_up = phone_task(orgs)
    at = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)
    record_attempt(follow_up, "no_answer", channel="phone", actor="staff", at=at)
    assert follow_up.callback_at == at + timedelta(minutes=30)
    record_attempt(follow_up, "busy", channel="phone", actor="staff", at=at)
    assert follow_up.callback_at == at + timedelta(minutes=10)
    record_attempt(follow_up, "switched_off", channel="phone", actor="staff", at=at)  # no delay set: at once
    assert follow_up.callback_at is None


def test_a_call_back_comes_back_at_the_returnees_local_time(app, orgs):
    from datetime import date

    from monitor.followups.operations import local_moment

    follow_up = phone_task(orgs)  # Georgia: UTC+4
    moment = local_moment("GE", date(2026, 12, 3), time(18, 30))
    assert moment == datetime(2026, 12, 3, 14, 30, tzinfo=timezone.utc)
    record_attempt(follow_up, "call_back", channel="phone", actor="staff", callback_at=moment)
    db.session.commit()
    db.session.expire_all()
    follow_up = db.session.get(FollowUp, follow_up.id)
    assert follow_up.callback_at == moment and follow_up.contacted_at is not None and follow_up.state == "phone_task"
    with pytest.raises(ValueError, match="needs its date and time"):
        record_attempt(follow_up, "call_back", channel="phone", actor="staff")


@pytest.mark.parametrize("text, ok", [("no_answer=240,busy=60", True), ("", True), ("no_answer=0", False),
                                      ("refused=10", False), ("busy=soon", False)])
def test_retry_delays_are_checked(text, ok):
    from scheduler.protocol import parse_retry_delays

    if ok:
        assert isinstance(parse_retry_delays(text), dict)
    else:
        with pytest.raises(ValueError, match="outcome=minutes"):
            parse_retry_delays(text)


@pytest.mark.parametrize("answers, code", [
    ({}, "2.11"),
    ({"housing_situation": "shelter"}, "2.12"),
])
def test_a_refusal_or_break_off_during_the_interview_is_recorded_from_the_form(users, returnees, browser_for,
                                                                             answers, code):
    from monitor.models import Response

    make_follow_up(returnees["caritas-ge"], "m1", state="phone_task")
    db.session.commit()
    browser = browser_for(users["caritas-ge"])
    answer = browser.post("/interviews/GE-C-001/m1", {"mode": "phone", **answers, "action": "stopped"})
    assert answer.status_code == 302
    db.session.expire_all()
    follow_up = db.session.scalar(select(FollowUp))
    assert (follow_up.state, follow_up.disposition) == ("closed", code)
    response = db.session.scalar(select(Response))
    assert response.answers == answers  # kept
    if answers:
        assert response.flags == ["no_shelter"]  # a break-off raises its red flags all the same
