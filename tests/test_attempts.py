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
        record_attempt(follow_up, outcome, channel="phone", actor="staff")
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
