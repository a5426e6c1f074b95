"""Corrections of a closed interview (issue 9, point 7) and the language an interview is held in
(point 4): through real HTTP and SQL, on both databases."""
from __future__ import annotations

import re
import threading
import urllib.error
import urllib.parse

from sqlalchemy import func, select

from monitor.extensions import db
from monitor.models import AuditEntry, FollowUp, FollowUpEvent, Response, ResponseRevision
from monitor.responses.operations import rescore_all, stored_answers
from tests.conftest import make_follow_up
from tests.test_double_tap import _at_once, _logged_in

URL = "/interviews/GE-C-001/m1/correct"
# Enough for an economic and a social score; "shelter" raises the "no_shelter" red flag.
IN_SHELTER = {"housing_situation": "shelter", "housing_can_stay": "no", "housing_basic_needs": "no",
              "work_status": "looking", "income_covers_needs": "never"}
RENTED = {**IN_SHELTER, "housing_situation": "rented", "housing_can_stay": "yes", "housing_basic_needs": "yes"}


def _completed(browser, returnees, answers, action="complete"):
    make_follow_up(returnees["caritas-ge"], "m1", state="phone_task")
    db.session.commit()
    answer = browser.post("/interviews/GE-C-001/m1", {"mode": "phone", "language": "ka", **answers, "action": action})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    db.session.expire_all()
    return db.session.scalar(select(Response))


def _revisions():
    db.session.expire_all()
    return db.session.scalars(select(ResponseRevision).order_by(ResponseRevision.number)).all()


def test_a_correction_keeps_the_earlier_answers_and_the_scores_and_flags_follow(users, returnees, browser_for):
    browser = browser_for(users["caritas-ge"])
    response = _completed(browser, returnees, IN_SHELTER)
    assert (response.disposition, response.flags, response.score_social) == ("1.1", ["no_shelter"], 0.0)
    rescore_all(note="new weights")  # a second scoring version, not active: both must follow
    db.session.commit()
    events = db.session.scalar(select(func.count()).select_from(FollowUpEvent))

    detail = browser.get("/returnees/GE-C-001").get_data(as_text=True)
    assert f'href="{URL}"' in detail
    page = browser.get(URL).get_data(as_text=True)
    assert re.search(r'name="housing_situation" value="shelter" checked', page)  # the stored answers
    assert 'name="reason"' in page and 'name="revision" value="0"' in page

    answer = browser.post(URL, {"mode": "phone", "language": "ka", **RENTED, "revision": "0",
                                "reason": "The returnee moved before the call; I clicked the old answer."})
    assert answer.status_code == 302 and answer.location.endswith("/returnees/GE-C-001")
    [revision] = _revisions()
    response = db.session.scalar(select(Response))
    assert (revision.number, revision.answers, revision.corrected_by_id) == (1, IN_SHELTER, users["caritas-ge"].id)
    assert stored_answers(response) == RENTED
    # The flag is gone and the social score rises, under the active version and the newest alike.
    assert response.flags == [] and response.scores_in(1)["social"] == response.scores_in(2)["social"] == 1.0
    assert response.disposition == "1.1"  # a correction does not re-code the outcome
    assert db.session.scalar(select(func.count()).select_from(FollowUpEvent)) == events
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "response.correct"))
    assert audit.details["changed"] == ["housing_basic_needs", "housing_can_stay", "housing_situation"]
    assert audit.details["reason"].startswith("The returnee moved") and audit.details["revision"] == 1
    assert "rented" not in str(audit.details) and "shelter" not in str(audit.details)  # codes, never answers

    # A second correction, from the version the form now shows, raises the flag again.
    assert 'name="revision" value="1"' in browser.get(URL).get_data(as_text=True)
    answer = browser.post(URL, {"mode": "visit", "language": "ka", **RENTED, "housing_situation": "no_fixed_place",
                                "housing_can_stay": "", "housing_basic_needs": "", "revision": "1",
                                "reason": "Checked again at the home visit."})
    assert answer.status_code == 302
    assert [r.number for r in _revisions()] == [1, 2]
    response = db.session.scalar(select(Response))
    assert response.flags == ["no_shelter"] and response.mode == "visit"

    history = browser.get("/returnees/GE-C-001").get_data(as_text=True).split("Corrections:")[1]
    assert "staff@caritas-ge.example" in history and "Checked again at the home visit." in history
    assert "Where do you live now?: In a shelter → In a rented home" in history  # the first correction
    assert "Where do you live now?: In a rented home → No fixed place" in history  # the second
    assert "Phone interview → Home visit" in history
    assert history.index("Checked again") < history.index("The returnee moved")  # newest first


def test_a_correction_without_a_reason_is_refused_and_nothing_typed_is_lost(users, returnees, browser_for):
    browser = browser_for(users["caritas-ge"])
    _completed(browser, returnees, IN_SHELTER)
    answer = browser.post(URL, {"mode": "phone", "language": "ka", **RENTED, "revision": "0", "reason": "  "})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "Say why the answers are corrected." in page
    assert re.search(r'name="housing_situation" value="rented" checked', page)  # what was typed, on screen
    assert _revisions() == [] and stored_answers(db.session.scalar(select(Response))) == IN_SHELTER
    # A complete interview stays complete: a required answer cannot be taken away.
    answer = browser.post(URL, {"mode": "phone", "language": "ka", **RENTED, "work_status": "", "revision": "0",
                                "reason": "Work was recorded by mistake."})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "Please answer this question." in page
    assert "Work was recorded by mistake." in page and _revisions() == []
    # The same answers again change nothing and store no version.
    answer = browser.post(URL, {"mode": "phone", "language": "ka", **IN_SHELTER, "revision": "0", "reason": "Checked"})
    assert answer.status_code == 302 and _revisions() == []
    assert "Nothing was changed." in browser.get("/returnees/GE-C-001").get_data(as_text=True)


def test_a_partial_interview_is_corrected_and_stays_partial(users, returnees, browser_for):
    browser = browser_for(users["caritas-ge"])
    response = _completed(browser, returnees, {"housing_situation": "rented", "work_status": "employed"},
                          action="stopped")
    assert response.disposition == "1.2"
    answer = browser.post(URL, {"mode": "phone", "language": "ka", **IN_SHELTER, "revision": "0",
                                "reason": "The rest of the answers were on paper."})
    assert answer.status_code == 302
    db.session.expire_all()
    response = db.session.scalar(select(Response))
    assert (response.disposition, response.flags, stored_answers(response)) == ("1.2", ["no_shelter"], IN_SHELTER)


def test_only_a_closed_interview_of_ones_own_organisation_is_corrected(users, returnees, browser_for):
    browser = browser_for(users["caritas-ge"])
    make_follow_up(returnees["caritas-ge"], "m1", state="phone_task")
    db.session.commit()
    browser.post("/interviews/GE-C-001/m1", {"mode": "phone", "language": "ka", "housing_situation": "own",
                                             "action": "save"})
    answer = browser.get(URL)  # still open: continued with Interview, not corrected
    assert answer.status_code == 302 and answer.location.endswith("/returnees/GE-C-001")
    assert "/m1/correct" not in browser.get("/returnees/GE-C-001").get_data(as_text=True)
    assert browser.get("/interviews/GE-C-001/m12/correct").status_code == 404  # no such follow-up

    browser.post("/interviews/GE-C-001/m1", {"mode": "phone", "language": "ka", **IN_SHELTER, "action": "complete"})
    form = {"mode": "phone", "language": "ka", **RENTED, "revision": "0", "reason": "wrong"}
    for role, status in (("iom", 404), ("caritas-am", 404), ("analyst", 403)):
        other = browser_for(users[role])
        assert other.get(URL).status_code == status, role
        assert other.post(URL, form).status_code == status, role
    assert _revisions() == [] and stored_answers(db.session.scalar(select(Response))) == IN_SHELTER
    analyst_view = browser_for(users["analyst"]).get("/returnees/GE-C-001").get_data(as_text=True)
    assert "/m1/correct" not in analyst_view
    # Forged values of the form's selects and hidden field: refused, never a 500.
    assert browser.post(URL, {**form, "language": "xx"}).status_code == 400
    assert browser.post(URL, {**form, "revision": "x"}).status_code == 400
    assert browser.post(URL, form).status_code == 302 and len(_revisions()) == 1


def test_free_text_answers_in_the_history_only_for_staff_who_may_correct(users, returnees, browser_for):
    browser = browser_for(users["caritas-ge"])
    _completed(browser, returnees, {**IN_SHELTER, "housing_situation": "other", "housing_other": "At my uncle's"})
    browser.post(URL, {"mode": "phone", "language": "ka", **IN_SHELTER, "housing_situation": "other",
                       "housing_other": "In a garage", "revision": "0", "reason": "Misheard"})
    assert "At my uncle&#39;s → In a garage" in browser.get("/returnees/GE-C-001").get_data(as_text=True)
    analyst_view = browser_for(users["analyst"]).get("/returnees/GE-C-001").get_data(as_text=True)
    assert "Misheard" in analyst_view and "In a garage" not in analyst_view


def test_two_staff_correcting_at_once_one_wins_the_other_is_told_and_keeps_the_answers(users, returnees, server):
    make_follow_up(returnees["caritas-ge"], "m1", state="phone_task")
    db.session.commit()
    first = _logged_in(server, users["caritas-ge"].email)
    second = _logged_in(server, users["caritas"].email)
    csrf = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
    page = first.open(f"{server}/interviews/GE-C-001/m1").read().decode()
    body = {"csrf_token": csrf.search(page).group(1), "mode": "phone", "language": "ka", **IN_SHELTER,
            "action": "complete"}
    try:
        first.open(f"{server}/interviews/GE-C-001/m1", data=urllib.parse.urlencode(body).encode())
    except urllib.error.HTTPError as answer:
        assert answer.code == 302

    bodies = []
    for opener, housing in ((first, "rented"), (second, "own")):  # both open the form at version 0
        page = opener.open(f"{server}{URL}").read().decode()
        assert 'name="revision" value="0"' in page
        bodies.append((opener, urllib.parse.urlencode(
            {"csrf_token": csrf.search(page).group(1), "mode": "phone", "language": "ka", **IN_SHELTER,
             "housing_situation": housing, "revision": "0", "reason": f"It was {housing}"}).encode()))
    answers, barrier = {}, threading.Barrier(2)

    def press(opener, body):
        barrier.wait()
        try:
            reply = opener.open(f"{server}{URL}", data=body)
            answers[body] = (reply.status, reply.read().decode())
        except urllib.error.HTTPError as reply:
            answers[body] = (reply.code, reply.read().decode())

    threads = [threading.Thread(target=press, args=pair) for pair in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in answers.values()) == [302, 409], answers
    [revision] = _revisions()  # one correction became number 1; the other was not stored
    winner = stored_answers(db.session.scalar(select(Response)))["housing_situation"]
    loser = "own" if winner == "rented" else "rented"
    assert revision.answers == IN_SHELTER and revision.reason == f"It was {winner}"
    page = next(text for status, text in answers.values() if status == 409)
    assert "Someone corrected this interview while you were working on it" in page
    assert re.search(rf'name="housing_situation" value="{loser}" checked', page)  # nothing typed is lost
    assert f"It was {loser}" in page and 'name="revision" value="1"' in page
    assert "What saving would change now" in page


def test_a_correction_made_while_a_form_was_open_is_not_overwritten_unseen(users, returnees, browser_for):
    browser = browser_for(users["caritas-ge"])
    _completed(browser, returnees, IN_SHELTER)
    assert 'name="revision" value="0"' in browser.get(URL).get_data(as_text=True)  # the form opened at version 0
    colleague = browser_for(users["caritas"])
    assert colleague.post(URL, {"mode": "phone", "language": "ka", **RENTED, "revision": "0",
                                "reason": "Moved"}).status_code == 302
    # The first form comes back for its missing reason still based on version 0 ...
    form = {"mode": "phone", "language": "ka", **IN_SHELTER, "work_status": "employed", "revision": "0"}
    page = browser.post(URL, {**form, "reason": ""}).get_data(as_text=True)
    assert 'name="revision" value="0"' in page
    # ... so saving it is told about the colleague's correction instead of undoing it silently.
    answer = browser.post(URL, {**form, "reason": "Employed, not looking"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "What saving would change now" in page
    assert "Where do you live now?: stored In a rented home, yours In a shelter" in page
    assert [r.number for r in _revisions()] == [1]
    assert stored_answers(db.session.scalar(select(Response)))["housing_situation"] == "rented"
    # Looked at again and saved from the version shown now: stored.
    assert browser.post(URL, {**form, "revision": "1", "reason": "Employed, not looking"}).status_code == 302
    assert [r.number for r in _revisions()] == [1, 2]


def test_the_same_correction_pressed_many_times_is_stored_once(users, returnees, server, browser_for):
    _completed(browser_for(users["caritas-ge"]), returnees, IN_SHELTER)
    opener = _logged_in(server, users["caritas-ge"].email)
    page = opener.open(f"{server}{URL}").read().decode()
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrf_token": csrf, "mode": "phone", "language": "ka", **RENTED,
                                   "revision": "0", "reason": "Pressed twice"}).encode()
    statuses = _at_once(opener, f"{server}{URL}", body)
    assert sorted(statuses) == [302] * 6, statuses
    assert [r.number for r in _revisions()] == [1]
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "response.correct")) == 1


def test_the_interview_language_is_recorded_and_the_second_column_follows_it(users, returnees, browser_for):
    make_follow_up(returnees["caritas-ge"], "m1", state="phone_task")
    db.session.commit()
    browser = browser_for(users["caritas-ge"])
    page = browser.get("/interviews/GE-C-001/m1").get_data(as_text=True)
    assert '<option value="ka" lang="ka" dir="auto" selected>' in page  # the returnee's language first
    assert '<span class="muted" lang="ka"' in page  # the second column of the questions
    forged = browser.post("/interviews/GE-C-001/m1", {"mode": "phone", "language": "xx", "action": "save"})
    assert forged.status_code == 400
    answer = browser.post("/interviews/GE-C-001/m1", {"mode": "phone", "language": "ru", "housing_situation": "own",
                                                      "action": "save"})
    assert answer.status_code == 302
    response = db.session.scalar(select(Response))
    assert response.language == "ru"
    page = browser.get("/interviews/GE-C-001/m1").get_data(as_text=True)
    assert '<option value="ru" lang="ru" dir="auto" selected>' in page
    assert '<span class="muted" lang="ru"' in page and '<span class="muted" lang="ka"' not in page
    browser.post("/interviews/GE-C-001/m1", {"mode": "phone", "language": "ru", **IN_SHELTER, "action": "complete"})
    detail = browser.get("/returnees/GE-C-001").get_data(as_text=True)
    responses_table = detail.split("<h3>Responses</h3>")[1].split("</table>")[0]
    assert "Русский" in responses_table
    # Corrected to the language it was really held in: recorded, and in the history.
    browser.post(URL, {"mode": "phone", "language": "ka", **IN_SHELTER, "revision": "0", "reason": "It was Georgian"})
    db.session.expire_all()
    assert db.session.scalar(select(Response)).language == "ka"
    assert re.search(r"Русский</bdi> → <bdi[^>]*>ქართული", browser.get("/returnees/GE-C-001").get_data(as_text=True))
    assert db.session.scalar(select(FollowUp)).disposition == "1.1"


def test_any_closed_response_with_answers_is_corrected_in_its_own_mode(users, returnees, browser_for):
    """A returnee's own SMS-link answers too (the mode stays selectable); a response deleted later
    (an import saying nobody answered) takes its revisions with it."""
    from monitor.followups.operations import complete_response
    from monitor.responses import operations
    from monitor.responses.operations import start_response

    follow_up = make_follow_up(returnees["caritas-ge"], "m1")
    response = start_response(follow_up, "sms-web")
    operations.save_answers(response, operations.questionnaire_of(response).items, IN_SHELTER)
    complete_response(response)
    db.session.commit()
    browser = browser_for(users["caritas-ge"])
    assert '<option value="sms-web" selected>' in browser.get(URL).get_data(as_text=True)
    answer = browser.post(URL, {"mode": "sms-web", "language": "ka", **RENTED, "revision": "0",
                                "reason": "The returnee called: wrong box ticked"})
    assert answer.status_code == 302 and len(_revisions()) == 1
    db.session.delete(db.session.scalar(select(Response)))
    db.session.commit()
    assert _revisions() == []
