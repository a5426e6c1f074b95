"""A follow-up ends by every route the same way: closed with its disposition, nothing more sent,
off the partner's work list and out of the offline case list. Every route: the returnee's link
(answered, or its web STOP), the interviewer's form, `monitor import-responses` with a CSV of
the contract, with an ODK Central export and with a KoboToolbox export, and a STOP texted back
to Twilio's webhook. Each at three moments: just after the invitation (its reminders are still
to come), with a reminder already queued in the outbox (decided, not yet sent), and once the
follow-up is a phone task on the work list. Both databases; dates from today, as the personal
links are checked against the real clock.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.extensions import db
from monitor.models import FollowUp, Returnee, SmsMessage
from monitor.responses.cli import import_responses_command
from scheduler.dispatch import decide, dispatch
from scheduler.planning import plan
from tests.conftest import make_returnee
from tests.test_respond import Phone
from tests.test_sms_twilio import signed_post, twilio  # noqa: F401 - a fixture

TODAY = date.today()
RETURN = TODAY - timedelta(days=31)  # the one-month check is due since yesterday
CODE = "GE-Z-001"
NUMBER = "+995555123456"
FIXTURES = Path(__file__).parent / "fixtures"


def noon_in_tbilisi(day: date) -> datetime:
    return datetime.combine(day, time(8), tzinfo=timezone.utc)


def the_follow_up() -> FollowUp:
    db.session.expire_all()
    return db.session.scalar(select(FollowUp).join(Returnee).where(Returnee.code == CODE))


# -- the moments ------------------------------------------------------------------------------

def invited(orgs, twilio):
    make_returnee(orgs["caritas"], CODE, orgs["caritas-ge"], return_date=RETURN, phone=NUMBER)
    db.session.commit()
    plan(TODAY)
    dispatch(noon_in_tbilisi(TODAY))
    assert the_follow_up().state == "invited" and len(twilio.messages()) == 1


def reminder_queued(orgs, twilio):
    invited(orgs, twilio)
    decide(noon_in_tbilisi(TODAY + timedelta(days=3)))  # the first reminder, in the outbox, not yet sent
    assert [m.status for m in db.session.scalars(select(SmsMessage).order_by(SmsMessage.id))] == ["sent", "queued"]


def phone_task(orgs, twilio):
    invited(orgs, twilio)
    for day in (3, 7, 14):  # two reminders, then the partner's call
        dispatch(noon_in_tbilisi(TODAY + timedelta(days=day)))
    assert the_follow_up().state == "phone_task" and len(twilio.messages()) == 3


MOMENTS = {"invited": invited, "reminder_queued": reminder_queued, "phone_task": phone_task}


# -- the routes -------------------------------------------------------------------------------

def _link_token(twilio) -> str:
    return re.search(r"/s/([\w-]+)", twilio.messages()[0]["Body"]).group(1)


def by_link(app, twilio, **_):
    Phone(app, _link_token(twilio)).answer_everything()


def by_link_stop(app, twilio, **_):
    phone = Phone(app, _link_token(twilio))
    phone.open()
    assert phone.post("/opt-out", {}).status_code == 200


def by_interviewer(users, browser_for, **_):
    answer = browser_for(users["caritas-ge"]).post(f"/interviews/{CODE}/m1", {
        "mode": "phone", "housing_situation": "rented", "work_status": "employed", "action": "complete"})
    assert answer.status_code == 302


def _import(app, tmp_path, data: bytes, *options):
    path = tmp_path / "responses.csv"
    path.write_bytes(data)
    result = app.test_cli_runner().invoke(import_responses_command, args=[*options, str(path)])
    assert result.exit_code == 0, result.output
    assert "1 updated" in result.output or "1 created" in result.output, result.output


def by_csv(app, tmp_path, **_):
    from tests.test_import_responses import csv_file, row

    _import(app, tmp_path, csv_file(row(CODE, date=TODAY.isoformat(), housing_situation="rented",
                                        work_status="employed"), items=["housing_situation", "work_status"]))


def _submission(name: str, delimiter: str) -> bytes:
    """The first submission of a fixture export (GE-C-001's visit), made this follow-up's today."""
    text = io.StringIO((FIXTURES / name).read_text(encoding="utf-8-sig"))
    header, first = list(csv.reader(text, delimiter=delimiter))[:2]
    cells = dict(zip(header, first))
    cells["case"] = f"{CODE}/m1"
    for column, value in cells.items():  # start, end, the submission time: today, after the invitation
        cells[column] = re.sub(r"^\d{4}-\d{2}-\d{2}T\d{2}", f"{TODAY.isoformat()}T12", value)
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows([header, [cells[c] for c in header]])
    return out.getvalue().encode()


def by_central(app, tmp_path, **_):
    _import(app, tmp_path, _submission("odk-central-worklist.csv", ","), "--version", "2")


def by_kobo(app, tmp_path, **_):
    _import(app, tmp_path, _submission("kobo-worklist.csv", ";"), "--version", "2")


def by_stop_text(app, **_):
    reply = signed_post(app, "/sms/twilio/inbound", {"MessageSid": "SM" + "7" * 32, "From": NUMBER, "Body": "STOP"})
    assert reply.status_code == 200


ROUTES = {"link": (by_link, "1.1"), "link_stop": (by_link_stop, "2.11"), "interviewer": (by_interviewer, "1.1"),
          "csv": (by_csv, "1.1"), "central": (by_central, "1.1"), "kobo": (by_kobo, "1.1"),
          "stop_text": (by_stop_text, "2.11")}


def on_work_list_of(browser, code: str) -> bool:
    """Among the work list's follow-ups to work on (its needs-attention items, which the answers'
    red flags may open, are another table)."""
    page = browser.get("/worklist/").get_data(as_text=True)
    tasks = re.search(r'<table class="worklist">.*?</table>', page, re.S)
    return tasks is not None and f">{code}</a>" in tasks.group(0)


def on_work_list(browser) -> bool:
    return on_work_list_of(browser, CODE)


def in_case_list(app, tmp_path) -> bool:
    """The offline case list (KoboCollect / ODK Collect) of the local partner."""
    zipped = tmp_path / "worklist.zip"
    result = app.test_cli_runner().invoke(args=["export", "worklist", "--organisation", "caritas-ge",
                                                "-o", str(zipped)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(zipped) as archive:
        return f"{CODE}/m1" in archive.read("cases.csv").decode("utf-8")


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("route", ROUTES)
def test_every_route_closes_the_follow_up_and_nothing_more_is_sent(app, orgs, users, twilio, browser_for, tmp_path,
                                                                   route, moment):
    MOMENTS[moment](orgs, twilio)
    partner = browser_for(users["caritas-ge"])
    phone_list = moment == "phone_task"
    assert on_work_list(partner) == phone_list and in_case_list(app, tmp_path) == phone_list
    sent = len(twilio.messages())
    events = len(the_follow_up().events)

    close_by, disposition = ROUTES[route]
    close_by(app=app, twilio=twilio, users=users, browser_for=browser_for, tmp_path=tmp_path)

    follow_up = the_follow_up()
    assert (follow_up.state, follow_up.disposition, follow_up.next_action_at) == ("closed", disposition, None)
    assert [e.transition for e in follow_up.events[events:]] == ["close"]
    if disposition == "2.11":  # STOP: no contact by any channel any more
        returnee = follow_up.returnee
        assert returnee.opted_out_at is not None and not returnee.may_contact("phone")
    # The reminder queued before is never sent; no reminder and no phone task follow, whatever the time.
    for later in (timedelta(days=3, minutes=1), timedelta(days=8), timedelta(days=15), timedelta(days=40)):
        dispatch(noon_in_tbilisi(TODAY) + later)
    assert len(twilio.messages()) == sent
    assert [m.status for m in db.session.scalars(select(SmsMessage).where(SmsMessage.status == "queued"))] == []
    follow_up = the_follow_up()
    assert (follow_up.state, follow_up.disposition) == ("closed", disposition)
    assert [e.transition for e in follow_up.events[events:]] == ["close"]
    assert not on_work_list(partner) and not in_case_list(app, tmp_path)


def test_a_stop_from_a_number_two_returnees_share_holds_for_both(app, orgs, users, twilio, browser_for, tmp_path):
    """A couple (or a family phone): one STOP from the number is everyone's at that number."""
    invited(orgs, twilio)
    make_returnee(orgs["caritas"], "GE-Z-002", orgs["caritas-ge"], return_date=RETURN, phone=NUMBER,
                  preferred_channel="phone")
    db.session.commit()
    plan(TODAY)
    dispatch(noon_in_tbilisi(TODAY))
    assert on_work_list_of(browser_for(users["caritas-ge"]), "GE-Z-002")
    sent = len(twilio.messages())
    by_stop_text(app)
    for later in (timedelta(days=3), timedelta(days=8), timedelta(days=15)):
        dispatch(noon_in_tbilisi(TODAY) + later)
    db.session.expire_all()
    follow_ups = db.session.scalars(select(FollowUp).join(Returnee).order_by(Returnee.code)).all()
    assert [(f.returnee.code, f.state, f.disposition) for f in follow_ups] == [
        (CODE, "closed", "2.11"), ("GE-Z-002", "closed", "2.11")]
    assert all(f.returnee.opted_out_at is not None for f in follow_ups) and len(twilio.messages()) == sent
    assert not on_work_list_of(browser_for(users["caritas-ge"]), "GE-Z-002")
