"""A refusal holds everywhere: the returnee import never gives consent back after a STOP, a message
still queued when someone refuses is never sent, and no interview is offered or accepted for a
refuser. A follow-up that closes while its interview is open keeps the answers on screen. Both
databases."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from monitor.extensions import db
from monitor.formatting import day
from monitor.followups.operations import opt_out
from monitor.models import FollowUp, SmsMessage
from monitor.returnees import operations
from scheduler.dispatch import decide, dispatch
from scheduler.planning import plan
from tests.conftest import make_follow_up, make_returnee
from tests.test_import import csv_file, line, run

TODAY = date.today()
NOON_IN_TBILISI = datetime.combine(TODAY + timedelta(days=1), time(8), tzinfo=timezone.utc)


def test_the_returnee_import_never_gives_consent_back_after_a_stop(returnees):
    opt_out(returnees["caritas"], actor="test", via="sms")  # GE-C-002
    db.session.commit()
    report = run(csv_file(line("GE-C-002", consent="sms")))
    assert report.errors == [] and [w.message for w in report.warnings] == [
        f"the returnee replied STOP on {day(returnees['caritas'].opted_out_at)}; "
        "the import does not give consent again"]
    db.session.expire_all()
    again = db.session.get(type(returnees["caritas"]), returnees["caritas"].id)
    assert again.opted_out_at is not None and not again.may_contact("sms") and not again.may_contact("phone")


@pytest.mark.parametrize("how", ["stop", "withdrawal", "do-not-contact"])
def test_a_message_still_queued_when_the_returnee_refuses_is_never_sent(app, orgs, how):
    returnee = make_returnee(orgs["caritas"], "GE-Q-001", return_date=TODAY - timedelta(days=31))
    db.session.commit()
    plan(TODAY)
    decide(NOON_IN_TBILISI)  # invited: the message is in the outbox, not yet sent (as after a crash)
    assert db.session.scalar(select(SmsMessage.status)) == "queued"
    if how == "stop":
        opt_out(returnee, actor="test", via="sms")
    elif how == "withdrawal":
        operations.withdraw_consent(returnee, "verbal", actor="test")
    else:
        operations.set_do_not_contact(returnee, True, actor="test")
    db.session.commit()
    report = dispatch(NOON_IN_TBILISI + timedelta(minutes=1))
    db.session.expire_all()
    assert db.session.scalar(select(SmsMessage.status)) == "cancelled" and "sent" not in report.counts
    assert db.session.scalar(select(FollowUp.disposition)) == "2.11"


def test_no_interview_for_a_refuser(users, returnees, browser_for):
    make_follow_up(returnees["caritas-ge"], "m1")
    operations.set_do_not_contact(returnees["caritas-ge"], True, actor="test")
    db.session.commit()
    browser = browser_for(users["caritas-ge"])
    assert "/interviews/GE-C-001/m1" not in browser.get("/returnees/GE-C-001").get_data(as_text=True)
    page = browser.get("/interviews/GE-C-001/m1", follow_redirects=True).get_data(as_text=True)
    assert "asked not to be contacted" in page
    answer = browser.post("/interviews/GE-C-001/m1", {"mode": "phone", "housing_situation": "rented",
                                                      "action": "save"})
    assert answer.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(FollowUp.state)) == "closed"  # closed as 2.11 by the refusal, nothing saved


def test_a_follow_up_that_closes_while_its_interview_is_open_keeps_the_answers_on_screen(users, returnees,
                                                                                           browser_for):
    from monitor.followups.operations import close

    follow_up = make_follow_up(returnees["caritas-ge"], "m1")
    db.session.commit()
    browser = browser_for(users["caritas-ge"])
    browser.get("/interviews/GE-C-001/m1")
    close(follow_up, "window_closed", actor="test")  # midnight passed while the call went on
    db.session.commit()
    page = browser.post("/interviews/GE-C-001/m1", {"mode": "phone", "housing_situation": "shelter",
                                                    "action": "complete"})
    text = page.get_data(as_text=True)
    assert page.status_code == 409 and "were not saved" in text
    assert 'value="shelter" checked' in text or "value=\"shelter\"\n" in text or 'shelter" checked' in text


def test_a_change_made_meanwhile_by_another_process_is_a_clear_409(users, returnees, browser_for, monkeypatch):
    from sqlalchemy.orm.exc import StaleDataError

    from monitor.returnees import controllers

    def moved_meanwhile(*args, **kwargs):
        raise StaleDataError("UPDATE statement on table 'follow_ups' expected to update 1 row(s); 0 were matched.")

    monkeypatch.setattr(controllers.operations, "withdraw_consent", moved_meanwhile)
    page = browser_for(users["caritas"]).post("/returnees/GE-C-002/consent/withdraw", {"withdraw-confirm": "y"})
    text = page.get_data(as_text=True)
    assert page.status_code == 409 and "changed this record while you were saving" in text and "Traceback" not in text
    db.session.expire_all()
    assert returnees["caritas"].consent_withdrawn_at is None  # nothing half-saved


def test_an_import_that_meets_a_scheduler_move_runs_again_whole(app):
    from sqlalchemy.orm.exc import StaleDataError

    from monitor.csvimport import run_import

    writes = []

    def write(rows, report):
        writes.append(rows)
        if len(writes) == 1:
            raise StaleDataError("a follow-up moved meanwhile")
        report.created = len(rows)

    report = run_import(b"x", lambda data, report: [1, 2], write, action="test.import", dry_run=False,
                        skip_invalid=False, actor="test")
    assert report.written and report.created == 2 and len(writes) == 2
