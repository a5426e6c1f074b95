"""A follow-up ends when its response does: no reminder after the returnee has answered."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select

from monitor.extensions import db
from monitor.models import FollowUp, SmsMessage
from scheduler.dispatch import dispatch
from scheduler.planning import plan
from tests.conftest import make_returnee
from tests.test_respond import Phone

# Dates relative to today: the personal links are checked against the real clock.
TODAY = date.today()
RETURN = TODAY - timedelta(days=31)  # the one-month check is due since yesterday


def at_noon_in_tbilisi(day: date) -> datetime:
    return datetime.combine(day, time(8, 0), tzinfo=timezone.utc)


def test_answering_closes_the_follow_up_and_stops_reminders(app, orgs):
    make_returnee(orgs["caritas"], "GE-F-001", orgs["caritas-ge"], return_date=RETURN)
    db.session.commit()
    assert plan(TODAY).created["m1"] == 1
    dispatch(at_noon_in_tbilisi(TODAY))
    message = db.session.scalar(select(SmsMessage))
    print(repr(message.body))
    token = re.search(r"/s/([\w-]+)", message.body).group(1)

    phone = Phone(app, token)
    phone.answer_everything()

    db.session.expire_all()
    follow_up = db.session.scalar(select(FollowUp))
    assert (follow_up.state, follow_up.disposition) == ("closed", "1.1")
    assert [e.transition for e in follow_up.events] == ["invite", "close"]
    assert follow_up.events[-1].actor == "returnee"
    # Past the reminder days: nothing more is sent.
    dispatch(at_noon_in_tbilisi(TODAY + timedelta(days=8)))
    assert db.session.scalar(select(func.count()).select_from(SmsMessage)) == 1


def test_declining_on_the_link_closes_as_refusal(app, orgs):
    make_returnee(orgs["caritas"], "GE-F-002", return_date=RETURN)
    db.session.commit()
    plan(TODAY)
    dispatch(at_noon_in_tbilisi(TODAY))
    token = re.search(r"/s/([\w-]+)", db.session.scalar(select(SmsMessage)).body).group(1)
    phone = Phone(app, token)
    phone.open()
    phone.post("/consent", {"choice": "decline"})
    db.session.expire_all()
    follow_up = db.session.scalar(select(FollowUp))
    assert (follow_up.state, follow_up.disposition) == ("closed", "2.11")
