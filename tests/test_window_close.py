"""A response still open when its window closes: partial (1.2) or break-off (2.12), its answers
kept and its red flags raised from what was saved. Both databases."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from monitor.extensions import db
from monitor.models import FollowUp, Response, SmsMessage
from scheduler.dispatch import dispatch
from scheduler.planning import plan
from tests.conftest import make_returnee
from tests.test_respond import PAGES, Phone

TODAY = date.today()


def invited(orgs, code):
    make_returnee(orgs["caritas"], code, orgs["caritas-ge"], return_date=TODAY - timedelta(days=31))
    db.session.commit()
    plan(TODAY)
    dispatch(datetime.combine(TODAY, time(8), tzinfo=timezone.utc))
    body = db.session.scalar(select(SmsMessage.body).order_by(SmsMessage.id.desc()))
    return re.search(r"/s/([\w-]+)", body).group(1)


def close_the_window():
    follow_up = db.session.scalar(select(FollowUp))
    dispatch(datetime.combine(follow_up.window_closes + timedelta(days=1), time(8), tzinfo=timezone.utc))
    db.session.expire_all()
    return db.session.scalar(select(FollowUp)), db.session.scalar(select(Response))


@pytest.mark.parametrize("modules, code, scored", [
    (("housing",), "2.12", False),
    (("housing", "income", "social", "health"), "1.2", True),
])
def test_an_open_response_closes_with_its_answers_and_flags(app, orgs, modules, code, scored):
    phone = Phone(app, invited(orgs, "GE-W-001"))
    phone.open()
    phone.post("/consent", {"choice": "agree"})
    for module in modules:
        answers = dict(PAGES[module])
        if module == "housing":
            answers["housing_situation"] = "shelter"  # a red flag
        phone.answer(module, answers)
    follow_up, response = close_the_window()
    assert (follow_up.state, follow_up.disposition) == ("closed", code)
    assert follow_up.contacted_at is not None and response.completed_at is not None
    assert response.answers["housing_situation"] == "shelter"  # kept
    assert "no_shelter" in response.flags  # raised from what was saved
    assert (response.score_economic is not None) is scored
    assert "window_closed" in follow_up.events[-1].detail


def test_consent_given_then_nothing_is_contacted_not_completed(app, orgs):
    phone = Phone(app, invited(orgs, "GE-W-002"))
    phone.open()
    phone.post("/consent", {"choice": "agree"})
    follow_up, response = close_the_window()
    assert follow_up.disposition == "2.21" and response.flags == []


def test_a_link_merely_opened_is_not_contact(app, orgs):
    Phone(app, invited(orgs, "GE-W-003")).open()  # a link preview opens it too
    follow_up, response = close_the_window()
    assert (follow_up.disposition, follow_up.contacted_at, response) == ("2.20", None, None)
