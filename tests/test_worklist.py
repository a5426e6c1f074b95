"""The partner's work list: scoped to the organisation, ordered by urgency, counts per status,
filters, and a call attempt in two clicks (idempotent under a double press). Both databases."""
from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import func, select

from monitor.extensions import db
from monitor.models import AuditEntry, ContactAttempt, FollowUp
from monitor.models.types import utcnow
from tests.conftest import make_follow_up

KEY = re.compile(r'name="form_key"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="form_key"')


def tasks(returnees):
    """A phone task for each of the four cases of the fixture (Caritas Georgia, Caritas Armenia,
    Caritas itself, IOM Georgia)."""
    made = {key: make_follow_up(r, "m1", state="phone_task", closes=date.today() + timedelta(days=20))
            for key, r in returnees.items()}
    db.session.commit()
    return made


def test_partners_land_on_their_work_list_and_see_only_their_own(users, returnees, browser_for):
    tasks(returnees)
    local = browser_for(users["caritas-ge"])
    home = local.get("/")
    assert home.status_code == 302 and home.location.endswith("/worklist/")
    page = local.get("/worklist/").get_data(as_text=True)
    assert "GE-C-001" in page and "AM-C-001" not in page and "GE-I-001" not in page and "GE-C-002" not in page
    caritas = browser_for(users["caritas"]).get("/worklist/").get_data(as_text=True)
    assert {"GE-C-001", "AM-C-001", "GE-C-002"} <= set(re.findall(r"[A-Z]{2}-[CI]-\d{3}", caritas))
    assert "GE-I-001" not in caritas
    assert "GE-I-001" in browser_for(users["admin"]).get("/worklist/?organisation=iom").get_data(as_text=True)
    assert browser_for(users["admin"]).get("/worklist/?organisation=nope").status_code == 404
    assert browser_for(users["analyst"]).get("/worklist/").status_code == 403


def test_ordered_by_urgency_with_counts_and_filters(users, returnees, browser_for):
    made = tasks(returnees)
    made["caritas-am"].callback_at = utcnow() - timedelta(minutes=5)  # a call-back due now: first
    made["caritas"].callback_at = utcnow() + timedelta(hours=3)  # later: last
    made["caritas-ge"].window_closes = date.today() + timedelta(days=2)  # closes soonest of the rest
    db.session.commit()
    page = browser_for(users["caritas"]).get("/worklist/").get_data(as_text=True)
    order = [code for code in re.findall(r">([A-Z]{2}-C-\d{3})</a>", page)]
    assert order == ["AM-C-001", "GE-C-001", "GE-C-002"]
    assert re.search(r"Call back now: <strong>1</strong>", page) and re.search(r"Later: <strong>1</strong>", page)
    assert re.search(r"To call: <strong>1</strong>", page)
    only_am = browser_for(users["caritas"]).get("/worklist/?country=AM").get_data(as_text=True)
    assert re.findall(r">([A-Z]{2}-C-\d{3})</a>", only_am) == ["AM-C-001"]
    # The country filter offers the organisation's caseload's countries, not the world's.
    options = re.findall(r'<option value="([A-Z]{2})"', page[page.index('id="country"'):])
    assert sorted(set(options) & {"AM", "GE", "AQ", "BE"}) == ["AM", "GE"]
    later = browser_for(users["caritas"]).get("/worklist/?status=later").get_data(as_text=True)
    assert re.findall(r">([A-Z]{2}-C-\d{3})</a>", later) == ["GE-C-002"]


def _attempt(browser, follow_up, **fields):
    page = browser.get("/worklist/").get_data(as_text=True)
    match = KEY.search(page)
    data = {"form_key": match.group(1) or match.group(2), "back": "/worklist/", **fields}
    return browser.post(f"/worklist/{follow_up.id}/attempt", data), data


def test_a_call_attempt_in_two_clicks(users, returnees, browser_for):
    made = tasks(returnees)
    browser = browser_for(users["caritas-ge"])
    answer, data = _attempt(browser, made["caritas-ge"], outcome="no_answer", note="rang 10 times")
    assert answer.status_code == 302 and answer.location.endswith("/worklist/")
    assert browser.post(f"/worklist/{made['caritas-ge'].id}/attempt", data).status_code == 302  # pressed twice
    db.session.expire_all()
    follow_up = db.session.get(FollowUp, made["caritas-ge"].id)
    assert follow_up.attempts == 1 and follow_up.callback_at is not None
    attempt = db.session.scalar(select(ContactAttempt))
    assert (attempt.outcome, attempt.note, attempt.user_id) == ("no_answer", "rang 10 times", users["caritas-ge"].id)
    # Refused: closed through the disposition table.
    _attempt(browser, follow_up, outcome="refused")
    db.session.expire_all()
    assert db.session.get(FollowUp, follow_up.id).disposition == "2.11"


def test_a_call_back_needs_its_time_and_comes_back_then(users, returnees, browser_for):
    made = tasks(returnees)
    browser = browser_for(users["caritas-ge"])
    answer, _data = _attempt(browser, made["caritas-ge"], outcome="call_back")
    assert "A call-back needs its date and time." in browser.get("/worklist/").get_data(as_text=True)
    day = date.today() + timedelta(days=1)
    _attempt(browser, made["caritas-ge"], outcome="call_back", callback_day=day.isoformat(), callback_time="18:30")
    db.session.expire_all()
    follow_up = db.session.get(FollowUp, made["caritas-ge"].id)
    assert (follow_up.callback_at.hour, follow_up.callback_at.minute) == (14, 30)  # 18:30 in Tbilisi
    assert follow_up.contacted_at is not None


def test_no_attempt_on_another_organisations_follow_up(users, returnees, browser_for):
    made = tasks(returnees)
    browser = browser_for(users["caritas-ge"])
    answer, _data = _attempt(browser, made["iom-ge"], outcome="no_answer")
    assert answer.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(ContactAttempt)) == 0


def test_contact_details_on_request_each_view_audited(users, returnees, browser_for):
    tasks(returnees)
    browser = browser_for(users["caritas-ge"])
    page = browser.get("/worklist/?wave=m1").get_data(as_text=True)
    assert "+995555123456" not in page and "Nino Beridze" not in page and "Show contact" in page
    follow_up = db.session.scalar(select(FollowUp).where(FollowUp.returnee_id == returnees["caritas-ge"].id))
    shown = browser.post(f"/worklist/{follow_up.id}/contact", {"back": "/worklist/?wave=m1"})
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "+995555123456" in text and "Nino Beridze" in text
    entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
    assert (entry.action, entry.object_id, entry.details.get("via")) == ("returnee.contact.view", "GE-C-001", "worklist")
    assert "+995555123456" not in str(entry.details)
    other = db.session.scalar(select(FollowUp).where(FollowUp.returnee_id == returnees["iom-ge"].id))
    assert browser.post(f"/worklist/{other.id}/contact", {}).status_code == 404
    assert browser_for(users["analyst"]).post(f"/worklist/{follow_up.id}/contact", {}).status_code == 403


def test_a_full_work_list_stays_under_50_kb_on_a_poor_line(app, users, orgs):
    from tests.conftest import PASSWORD, make_returnee
    from tests.pageweight import Wire, served

    for n in range(120):  # more than the list shows
        make_follow_up(make_returnee(orgs["caritas"], f"GE-W-{n:03d}", orgs["caritas-ge"]), "m1", state="phone_task")
    db.session.commit()
    with served(app) as base:
        partner = Wire(base)
        partner.login("staff@caritas-ge.example", PASSWORD)
        html = partner.text("/worklist/")
        weight = partner.weight("/worklist/")  # the bytes actually sent, compressed by the app
    assert html.count('class="attempt"') == 100
    assert weight < 50 * 1024, weight
    assert "<script" not in html  # works without JavaScript, every control a native form element


def test_texts_from_returnees_wait_on_the_list_until_handled(users, returnees, browser_for):
    from monitor.extensions import cipher
    from monitor.models import InboundMessage

    for key, body in (("caritas-ge", "I lost my job, please call me"), ("iom-ge", "Call me about the shop")):
        db.session.add(InboundMessage(provider_id=f"SM{key}", returnee_id=returnees[key].id, kind="other",
                                      from_lookup=cipher.lookup_hash("+995555123456"), body=body))
    db.session.add(InboundMessage(provider_id="SMstop", returnee_id=returnees["caritas-ge"].id, kind="stop",
                                  from_lookup=cipher.lookup_hash("+995555123456"), body="STOP"))
    db.session.commit()
    browser = browser_for(users["caritas-ge"])
    page = browser.get("/worklist/").get_data(as_text=True)
    assert "I lost my job" in page and "Call me about the shop" not in page and ">STOP<" not in page
    mine = db.session.scalar(select(InboundMessage).where(InboundMessage.provider_id == "SMcaritas-ge"))
    other = db.session.scalar(select(InboundMessage).where(InboundMessage.provider_id == "SMiom-ge"))
    assert browser.post(f"/worklist/texts/{other.id}/handled", {}).status_code == 404
    assert browser.post(f"/worklist/texts/{mine.id}/handled", {"back": "/worklist/"}).status_code == 302
    assert browser.post(f"/worklist/texts/{mine.id}/handled", {"back": "/worklist/"}).status_code == 302  # twice
    db.session.expire_all()
    assert db.session.get(InboundMessage, mine.id).read_at is not None
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "inbound.handled")) == 1
    assert "I lost my job" not in browser.get("/worklist/").get_data(as_text=True)
