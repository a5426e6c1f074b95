"""Needs attention: a red flag of a live response becomes an item of work for the returnee's
organisation, counted and listed on its work list and shown on the case page, closed only with
what was done; imported history opens none unless its window is still open; a flag that a
correction takes away leaves its item in place. Both databases."""
from __future__ import annotations

import re
import urllib.parse
from datetime import date, timedelta

from sqlalchemy import func, select

from monitor.extensions import db
from monitor.models import AttentionItem, AuditEntry, Response
from monitor.responses.importing import import_responses
from monitor.responses.operations import apply_scores, questionnaire_of, save_answers, start_response
from tests.conftest import make_follow_up
from tests.test_double_tap import _at_once, _logged_in
from tests.test_import_responses import TODAY, csv_file, row
from tests.test_respond import Phone

# PAGES raises these three flags (food cut often; medication not available; distress, wants support).
RAISED = ["distress_wants_support", "food_cut_often", "medication_unavailable"]


def answered_by_link(app, returnee):
    """The returnee answers every page through the personal link an SMS carries."""
    from tests.conftest import link_for

    token = link_for(returnee, "m1")
    db.session.commit()
    Phone(app, token).answer_everything()
    db.session.expire_all()
    return db.session.scalar(select(Response).where(Response.returnee_id == returnee.id))


def open_items(returnee=None) -> list[AttentionItem]:
    db.session.expire_all()
    stmt = select(AttentionItem).where(AttentionItem.closed_at.is_(None)).order_by(AttentionItem.flag)
    if returnee is not None:
        stmt = stmt.join(Response, Response.id == AttentionItem.response_id).where(Response.returnee_id == returnee.id)
    return db.session.scalars(stmt).all()


def needs_count(page: str) -> int:
    return int(re.search(r"Needs attention: <strong>(\d+)</strong>", page).group(1))


def test_a_red_flag_from_the_link_travels_to_the_work_list_and_is_closed_with_an_action(
        app, users, returnees, browser_for):
    response = answered_by_link(app, returnees["caritas-ge"])
    assert response.mode == "sms-web" and response.flags == RAISED
    items = open_items()
    assert [item.flag for item in items] == RAISED and all(item.response_id == response.id for item in items)

    staff = browser_for(users["caritas-ge"])
    page = staff.get("/worklist/").get_data(as_text=True)
    assert needs_count(page) == 3
    assert "Often eats less for lack of money" in page and "Needed medication not available" in page
    listed = staff.get("/worklist/?status=needs_attention").get_data(as_text=True)
    assert listed.count('action="/needs/') == 3 and 'class="attempt"' in listed
    assert "Record a call" not in listed  # only the needs under this filter

    food = next(item for item in items if item.flag == "food_cut_often")
    refused = staff.post(f"/needs/{food.id}/close", {"action": "", "note": "spoke to her", "back": "/worklist/"})
    assert refused.status_code == 302 and refused.location.endswith("/worklist/")
    again = staff.get("/worklist/").get_data(as_text=True)
    assert "GE-C-001: Choose what was done before closing." in again and needs_count(again) == 3
    assert staff.post(f"/needs/{food.id}/close", {"action": "bribe", "back": "/worklist/"}).status_code == 302
    assert len(open_items()) == 3  # not an action: refused as well

    closed = staff.post(f"/needs/{food.id}/close", {"action": "referred", "note": "food bank in Kutaisi",
                                                   "back": "/worklist/?status=needs_attention"})
    assert closed.status_code == 302 and closed.location.endswith("/worklist/?status=needs_attention")
    db.session.expire_all()
    item = db.session.get(AttentionItem, food.id)
    assert (item.action, item.note, item.closed_by_id) == ("referred", "food bank in Kutaisi", users["caritas-ge"].id)
    assert item.closed_at is not None
    page = staff.get("/worklist/").get_data(as_text=True)
    assert "GE-C-001: closed (Referred to a service)." in page and needs_count(page) == 2
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "attention.close"))
    assert (entry.object_type, entry.object_id, entry.user_id) == ("attention_items", str(food.id), users["caritas-ge"].id)
    assert entry.details == {"case": "GE-C-001", "flag": "food_cut_often", "action": "referred", "note": True}
    assert "Kutaisi" not in str(entry.details)

    case = staff.get("/returnees/GE-C-001").get_data(as_text=True)
    assert 'id="needs"' in case and "Referred to a service" in case and "food bank in Kutaisi" in case
    assert case.count('action="/needs/') == 2  # the two still open, each with its form
    # Pressed again later: nothing more is recorded, and the staff member is told.
    assert staff.post(f"/needs/{food.id}/close", {"action": "visited", "back": "/worklist/"}).status_code == 302
    assert "already closed" in staff.get("/worklist/").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(AttentionItem, food.id).action == "referred"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "attention.close")) == 1


def test_the_flag_is_named_in_the_staff_members_language(app, users, returnees, browser_for):
    answered_by_link(app, returnees["caritas-ge"])
    users["caritas-ge"].locale = "fr"
    db.session.commit()
    page = browser_for(users["caritas-ge"]).get("/worklist/").get_data(as_text=True)
    assert "Mange souvent moins par manque d&#39;argent" in page or "Mange souvent moins par manque d'argent" in page


def test_an_interview_raises_needs_too(app, users, returnees):
    from monitor.followups.operations import complete_response

    follow_up = make_follow_up(returnees["caritas"], "m1", state="phone_task")
    response = start_response(follow_up, "phone", interviewer=users["caritas"])
    questionnaire = questionnaire_of(response)
    save_answers(response, questionnaire.items, {"housing_situation": "no_fixed_place", "work_status": "employed"})
    complete_response(response, user=users["caritas"])
    db.session.commit()
    assert [item.flag for item in open_items()] == ["no_shelter"]


def test_the_work_list_puts_cases_with_open_needs_first_and_counts_them_per_row(app, users, returnees, browser_for):
    for key in ("caritas-ge", "caritas"):
        make_follow_up(returnees[key], "m6", state="phone_task", closes=date.today() + timedelta(days=20))
    db.session.commit()
    staff = browser_for(users["caritas"])
    order = re.findall(r">([A-Z]{2}-C-\d{3})</a><br>", staff.get("/worklist/").get_data(as_text=True))
    assert order == ["GE-C-001", "GE-C-002"]  # same status, same window: by id
    answered_by_link(app, returnees["caritas"])  # GE-C-002's m1: three open needs
    page = staff.get("/worklist/").get_data(as_text=True)
    assert re.findall(r">([A-Z]{2}-C-\d{3})</a><br>", page) == ["GE-C-002", "GE-C-001"]
    assert "3 needs</a>" in page and needs_count(page) == 3


def test_scoped_to_the_returnees_organisation(app, users, returnees, browser_for):
    answered_by_link(app, returnees["caritas-ge"])
    item = open_items()[0]
    for role in ("iom", "caritas-am"):
        other = browser_for(users[role])
        assert other.post(f"/needs/{item.id}/close", {"action": "visited"}).status_code == 404
        assert needs_count(other.get("/worklist/").get_data(as_text=True)) == 0
        assert "GE-C-001" not in other.get("/worklist/?status=needs_attention").get_data(as_text=True)
    assert len(open_items()) == 3
    assert browser_for(users["analyst"]).post(f"/needs/{item.id}/close", {"action": "visited"}).status_code == 403
    # The analyst sees the flags of the responses, not the partner's work on them.
    assert 'id="needs"' not in browser_for(users["analyst"]).get("/returnees/GE-C-001").get_data(as_text=True)
    # The local partner and its reintegration partner both see it; the admin opens either list.
    assert needs_count(browser_for(users["caritas"]).get("/worklist/").get_data(as_text=True)) == 3
    admin = browser_for(users["admin"])
    assert needs_count(admin.get("/worklist/?organisation=caritas-ge").get_data(as_text=True)) == 3
    assert needs_count(admin.get("/worklist/?organisation=iom").get_data(as_text=True)) == 0
    # The list's filters apply to the needs: another country, another wave, another local partner.
    staff = browser_for(users["caritas"])
    for query in ("country=AM", "wave=m6", "local_partner=caritas-am"):
        assert needs_count(staff.get(f"/worklist/?{query}").get_data(as_text=True)) == 0, query


def _import(returnee, closes):
    make_follow_up(returnee, "m1", opens=date(2026, 9, 20), closes=closes)
    db.session.commit()
    report = import_responses(csv_file(row(returnee.code, date="2026-10-05", housing_situation="shelter",
                                           work_status="employed"), items=["housing_situation", "work_status"]),
                              today=TODAY, actor="test", filename="responses.csv")
    assert not report.errors, report.errors
    db.session.expire_all()
    return db.session.scalar(select(Response).where(Response.returnee_id == returnee.id))


def test_imported_history_opens_no_item_unless_its_window_is_still_open(app, returnees):
    past = _import(returnees["caritas-ge"], closes=date.today() - timedelta(days=1))
    assert past.imported and past.flags == ["no_shelter"] and past.attention_items == []
    current = _import(returnees["caritas"], closes=date.today() + timedelta(days=5))
    assert current.imported and [item.flag for item in current.attention_items] == ["no_shelter"]
    assert [item.response_id for item in open_items()] == [current.id]


def test_a_flag_a_correction_takes_away_leaves_its_item_and_a_new_flag_opens_one(app, users, returnees, browser_for):
    """What a correction does (the answers change, apply_scores runs again): the item of a flag no
    longer raised stays open, marked, for a person to close; a new flag opens its item; a
    flag raised twice has one item."""
    response = answered_by_link(app, returnees["caritas-ge"])
    questionnaire = questionnaire_of(response)
    medication, safety = questionnaire.item("medication_available"), questionnaire.item("feels_safe")
    save_answers(response, [medication, safety], {"medication_available": "yes", "feels_safe": "not_safe"})
    apply_scores(response)
    apply_scores(response)  # raised twice: one item
    db.session.commit()
    db.session.expire_all()
    items = {item.flag: item for item in db.session.get(Response, response.id).attention_items}
    assert sorted(items) == sorted(RAISED + ["feels_unsafe"])
    assert items["medication_unavailable"].cleared_at is not None and items["medication_unavailable"].is_open
    assert items["feels_unsafe"].cleared_at is None and items["feels_unsafe"].is_open
    page = browser_for(users["caritas-ge"]).get("/returnees/GE-C-001").get_data(as_text=True)
    assert "No longer raised by the answers since" in page
    # Raised again by a later correction: no longer marked, still the one item.
    save_answers(response, [medication], {"medication_available": "no"})
    apply_scores(response)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(AttentionItem)) == 4
    assert all(item.cleared_at is None for item in open_items())


def test_closed_once_when_pressed_many_times_at_once(app, users, returnees, server):  # noqa: F811
    response = answered_by_link(app, returnees["caritas-ge"])
    item_id = response.attention_items[0].id
    opener = _logged_in(server, users["caritas-ge"].email)
    page = opener.open(f"{server}/worklist/").read().decode()
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrf_token": csrf, "action": "called_back", "note": "twice",
                                   "back": "/worklist/"}).encode()
    statuses = _at_once(opener, f"{server}/needs/{item_id}/close", body)
    assert sorted(statuses) == [302] * 6, sorted(statuses)
    db.session.expire_all()
    assert db.session.get(AttentionItem, item_id).action == "called_back"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "attention.close")) == 1


def test_an_item_is_never_closed_without_an_action_in_the_database(app, returnees):
    import pytest
    from sqlalchemy.exc import IntegrityError

    follow_up = make_follow_up(returnees["caritas-ge"], "m1")
    response = start_response(follow_up, "phone")
    db.session.add(AttentionItem(response_id=response.id, flag="no_shelter", closed_at=follow_up.next_action_at))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
