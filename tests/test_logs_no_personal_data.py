"""No personal data in the logs: the suite's flows (import, a search by phone number on a real
server, SMS through the console and through the Twilio SDK, a STOP webhook, an interview, a
returnee answering, errors) run with every logger captured at DEBUG, SQL statements included,
and the log is scanned for the returnees' names and phone numbers."""
from __future__ import annotations

import io
import logging
import re
import urllib.parse
import urllib.request
from datetime import date, timedelta
from http.cookiejar import CookieJar

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from monitor.extensions import db
from monitor.models import Returnee
from scheduler.dispatch import dispatch
from scheduler.planning import plan
from tests.conftest import PASSWORD, finished_job_page, link_for, make_follow_up
from tests.pageweight import served
from tests.test_respond import Phone
from tests.test_sms_twilio import NOON_TBILISI, TODAY, signed_post, twilio  # noqa: F401  (the fixture)

PEOPLE = {  # name: phone as written in the file, and as stored
    "Giorgi Kapanadze": ("555 98 76 54", "+995555987654"),
    "Ani Lomidze": ("577 11 22 33", "+995577112233"),
    "Levan Tsereteli": ("599 44 55 66", "+995599445566"),
}
RETURN_DATE = (date.today() - timedelta(days=31)).isoformat()


def _forbidden() -> list[str]:
    found = []
    for name, (national, e164) in PEOPLE.items():
        found += [name, *name.split(), national, national.replace(" ", ""), e164, e164[1:],
                  urllib.parse.quote(e164), urllib.parse.quote_plus(e164)]
    return found


def _import(browser) -> None:
    rows = ["code,destination_country,partner,local_partner,return_date,language,channel,phone,consent,name"]
    rows += [f"GE-LOG-{n},GE,caritas,caritas-ge,{RETURN_DATE},ka,sms,{phone},yes,{name}"
             for n, (name, (phone, _e164)) in enumerate(PEOPLE.items())]
    # One row with a bad number: the error names the line, never the number.
    rows.append(f"GE-LOG-9,GE,caritas,caritas-ge,{RETURN_DATE},ka,sms,12 Levan Tsereteli,yes,Levan Tsereteli")
    upload = (io.BytesIO("\n".join(rows).encode()), "returnees.csv")
    page = browser.post("/returnees/import", {"file": upload, "skip_invalid": "y"}, content_type="multipart/form-data")
    assert page.status_code == 302  # the import runs as a job in the background: its page follows it
    page = finished_job_page(browser, page.location)
    assert page.status_code == 200 and "3" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(sa.func.count()).select_from(Returnee)) == 3


def _search_on_a_real_server(app, phone: str) -> None:
    """A staff member's browser on the threaded server: werkzeug logs each request line."""
    with served(app) as base:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        login = opener.open(base + "/login").read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "email": "admin@example.org", "password": PASSWORD})
        opener.open(base + "/login", data=form.encode()).read()
        found = opener.open(base + "/returnees/?" + urllib.parse.urlencode({"q": phone})).read().decode()
        assert "GE-LOG-0" in found and "GE-LOG-1" not in found


def test_the_flows_log_no_names_and_no_phone_numbers(app, orgs, users, browser_for, twilio, monkeypatch, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    for name in ("werkzeug", "sqlalchemy.engine", "twilio", "monitor", "apscheduler", "flask_limiter"):
        caplog.set_level(logging.DEBUG, logger=name)
    admin = browser_for(users["admin"])

    _import(admin)
    _search_on_a_real_server(app, PEOPLE["Giorgi Kapanadze"][1])
    admin.post("/returnees/GE-LOG-0/contact", {})  # the number shown to staff, not logged

    # SMS: the first through the console backend, the others through the Twilio SDK.
    plan(TODAY)
    monkeypatch.setitem(app.config, "SMS_BACKEND", "console")
    giorgi = db.session.scalar(select(Returnee).where(Returnee.code == "GE-LOG-0"))
    dispatch(NOON_TBILISI)
    monkeypatch.setitem(app.config, "SMS_BACKEND", "twilio")
    dispatch(NOON_TBILISI + timedelta(days=3))
    assert PEOPLE["Giorgi Kapanadze"][1] in {sent["To"] for sent in twilio.messages()}  # reminders, by the SDK
    # Twilio's webhooks: a delivery report, a STOP, a text from an unknown number.
    signed_post(app, "/sms/twilio/status", {"MessageSid": "SM" + "5" * 32, "MessageStatus": "delivered",
                                            "To": PEOPLE["Ani Lomidze"][1]})
    signed_post(app, "/sms/twilio/inbound", {"MessageSid": "SM" + "6" * 32, "From": PEOPLE["Ani Lomidze"][1],
                                             "Body": "STOP Ani Lomidze"})
    signed_post(app, "/sms/twilio/inbound", {"MessageSid": "SM" + "7" * 32, "From": "+995511000111",
                                             "Body": "who is this?"})

    # An interview by phone, stopped halfway.
    levan = db.session.scalar(select(Returnee).where(Returnee.code == "GE-LOG-2"))
    make_follow_up(levan, "m12", state="phone_task")
    db.session.commit()
    staff = browser_for(users["caritas-ge"])
    staff.post("/interviews/GE-LOG-2/m12", {"mode": "phone", "housing_situation": "shelter", "action": "stopped"})

    # The returnee answering on their phone.
    token = link_for(giorgi, "m6")
    db.session.commit()
    Phone(app, token).answer_everything()

    # Errors: a statement the database refuses (PostgreSQL repeats the row in its message: the
    # name and number are encrypted there), and a returnee's page that breaks.
    def failing_statement():  # a duplicate case code and no country: the database refuses the row
        db.session.add(Returnee(code="GE-LOG-0", name="Giorgi Kapanadze", phone=PEOPLE["Giorgi Kapanadze"][1]))
        db.session.flush()

    monkeypatch.setitem(app.view_functions, "main.home", failing_statement)
    assert admin.get("/").status_code == 500
    def broken_page(token, module):
        raise KeyError(module)

    monkeypatch.setitem(app.view_functions, "respond.module", broken_page)
    assert Phone(app, token).open("/housing").status_code == 500

    log = caplog.text + "\n".join(
        f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    # The capture works: the request lines, the SQL, the SMS and the errors are all in it.
    assert '"GET /returnees/?... HTTP/1.1" 200' in log
    assert "INSERT INTO returnees" in log and "unhandled error" in log and "IntegrityError" in log
    assert "console SMS: message" in log
    leaks = sorted({value for value in _forbidden() if value in log})
    assert leaks == [], [line for line in log.splitlines() if any(value in line for value in leaks)][:8]
