"""A person can press twice: simultaneous submissions of the link's consent page against a real
threaded server, on both databases. One outcome, one response, no 500."""
from __future__ import annotations

import re
import threading
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
from sqlalchemy import func, select

from monitor.extensions import db
from monitor.models import FollowUp, FollowUpEvent, Response
from tests.conftest import link_for, make_returnee


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _opened(url):
    """A browser of its own (cookies, no redirects followed) that opened `url`: (opener, CSRF token)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect)
    page = opener.open(url).read().decode()
    return opener, re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _redirected(opener, url, form):
    """POST `form`, which answers with a redirect."""
    try:
        opener.open(url, data=urllib.parse.urlencode(form).encode())
    except urllib.error.HTTPError as answer:
        assert answer.code == 302, answer.code


def press_together(server, token, form, times=8):
    """Open the consent page once (one cookie, one CSRF token), then send the same form `times`
    times at once, as a double tap or an impatient phone would."""
    opener, csrf = _opened(f"{server}/s/{token}")
    body = urllib.parse.urlencode({"csrf_token": csrf, **form}).encode()
    return _at_once(opener, f"{server}/s/{token}/consent", body, times)


@pytest.mark.parametrize("choice", ["agree", "decline"])
def test_consent_pressed_many_times_at_once(app, orgs, server, choice):
    returnee = make_returnee(orgs["caritas"], "GE-D-001", orgs["caritas-ge"])
    token = link_for(returnee, "m1")
    db.session.commit()
    statuses = press_together(server, token, {"choice": choice})
    # The first press acts; the others see where things stand (redirected, or the page that says
    # the returnee declined): never an error.
    assert len(statuses) == 8 and all(status in (200, 302, 410) for status in statuses), sorted(statuses)
    db.session.expire_all()
    follow_up = db.session.scalar(select(FollowUp))
    responses = db.session.scalar(select(func.count()).select_from(Response))
    closes = db.session.scalar(select(func.count()).select_from(FollowUpEvent).where(FollowUpEvent.transition == "close"))
    if choice == "agree":
        assert (responses, follow_up.state, closes) == (1, "planned", 0)
    else:
        assert (responses, follow_up.disposition, closes) == (0, "2.11", 1)
    assert follow_up.contacted_at is not None


def _at_once(opener, url, body, times=6) -> list[int]:
    """POST `body` to `url` `times` times at once with one session; the statuses."""
    statuses, barrier = [], threading.Barrier(times)

    def press():
        barrier.wait()
        try:
            statuses.append(opener.open(url, data=body).status)
        except urllib.error.HTTPError as answer:
            statuses.append(answer.code)

    threads = [threading.Thread(target=press) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def _logged_in(server, email):
    from tests.conftest import PASSWORD

    opener, csrf = _opened(f"{server}/login")
    _redirected(opener, f"{server}/login", {"csrf_token": csrf, "email": email, "password": PASSWORD})
    return opener


def test_an_interview_saved_as_complete_twice_at_once(app, users, returnees, server):
    from tests.conftest import make_follow_up

    make_follow_up(returnees["caritas-ge"], "m1")
    db.session.commit()
    opener = _logged_in(server, users["caritas-ge"].email)
    url = f"{server}/interviews/GE-C-001/m1"
    page = opener.open(url).read().decode()
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrf_token": csrf, "mode": "phone", "housing_situation": "rented",
                                   "work_status": "employed", "action": "complete"}).encode()
    statuses = _at_once(opener, url, body)
    assert len(statuses) == 6 and all(status == 302 for status in statuses), sorted(statuses)
    db.session.expire_all()
    follow_up = db.session.scalar(select(FollowUp))
    closes = db.session.scalar(select(func.count()).select_from(FollowUpEvent).where(FollowUpEvent.transition == "close"))
    assert (db.session.scalar(select(func.count()).select_from(Response)), follow_up.disposition, closes) == \
        (1, "1.1", 1)


def test_a_call_attempt_sent_several_times_at_once_is_recorded_once(app, users, returnees, server):
    from monitor.models import ContactAttempt
    from tests.conftest import make_follow_up

    follow_up = make_follow_up(returnees["caritas-ge"], "m1", state="phone_task")
    db.session.commit()
    follow_up_id = follow_up.id
    opener = _logged_in(server, users["caritas-ge"].email)
    page = opener.open(f"{server}/worklist/").read().decode()
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    key = re.search(r'name="form_key"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="form_key"', page)
    body = urllib.parse.urlencode({"csrf_token": csrf, "form_key": key.group(1) or key.group(2), "back": "/worklist/",
                                   "outcome": "no_answer"}).encode()
    statuses = _at_once(opener, f"{server}/worklist/{follow_up_id}/attempt", body)
    assert sorted(statuses) == [302] * 6, sorted(statuses)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ContactAttempt)) == 1
    assert db.session.get(FollowUp, follow_up_id).attempts == 1


def test_a_new_wave_added_several_times_at_once_is_added_once(app, users, server):
    from monitor.models import Wave

    opener = _logged_in(server, users["admin"].email)
    page = opener.open(f"{server}/admin/plan").read().decode()
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = {"csrf_token": csrf, "settings-reminder_days": "3,7", "settings-phone_after_days": "14",
            "settings-max_attempts": "5", "settings-quiet_start": "09:00", "settings-quiet_end": "20:00",
            "settings-max_messages_per_week": "2", "settings-retry_no_answer": "240",
            "new_wave-code": "m24", "new_wave-due_days": "730", "new_wave-closes_days_after": "45",
            "new_wave-sampled": "y", "new_wave-fraction": "0.5", "new_wave-min_per_stratum": "2"}
    for n, wave in enumerate(sorted(db.session.scalars(select(Wave)), key=lambda w: (w.due_days, w.code))):
        form.update({f"waves-{n}-due_days": str(wave.due_days), f"waves-{n}-opens_days_before": "0",
                     f"waves-{n}-closes_days_after": str(wave.closes_days_after),
                     f"waves-{n}-fraction": str(wave.fraction), f"waves-{n}-min_per_stratum": str(wave.min_per_stratum),
                     f"waves-{n}-active": "y", **({f"waves-{n}-sampled": "y"} if wave.sampled else {})})
    statuses = _at_once(opener, f"{server}/admin/plan", urllib.parse.urlencode(form).encode())
    assert statuses.count(302) >= 1 and all(status in (200, 302) for status in statuses), sorted(statuses)
    db.session.expire_all()
    assert db.session.get(Wave, "m24").due_days == 730


def test_stopped_pressed_twice_finds_the_interview_closed(users, returnees, browser_for):
    from tests.conftest import make_follow_up

    make_follow_up(returnees["caritas-ge"], "m1", state="phone_task")
    db.session.commit()
    browser = browser_for(users["caritas-ge"])
    form = {"mode": "phone", "housing_situation": "rented", "action": "stopped"}
    assert browser.post("/interviews/GE-C-001/m1", form).status_code == 302
    again = browser.post("/interviews/GE-C-001/m1", form)
    assert again.status_code == 302 and again.location.endswith("/returnees/GE-C-001")


def _phone_at(server, token):
    """A returnee's phone with the link open and consent given: (opener, CSRF token)."""
    opener, csrf = _opened(f"{server}/s/{token}")
    _redirected(opener, f"{server}/s/{token}/consent", {"csrf_token": csrf, "choice": "agree"})
    return opener, csrf


def _shown(answers) -> list[str]:
    """The items a page of `answers` shows (rank and "came first" fields belong to their item)."""
    return sorted({name.split("__")[0] for name in answers})


def _answers_of(item):
    from monitor.models import ResponseAnswer

    db.session.expire_all()
    return db.session.scalars(select(ResponseAnswer.code).where(ResponseAnswer.item == item)
                              .order_by(ResponseAnswer.position)).all()


def test_a_page_of_answers_sent_many_times_at_once_is_stored_once(app, orgs, server):
    returnee = make_returnee(orgs["caritas"], "GE-D-002", orgs["caritas-ge"], language="en")
    token = link_for(returnee, "m1")
    db.session.commit()
    opener, csrf = _phone_at(server, token)
    housing = {"housing_situation": "rented", "housing_can_stay": "yes", "housing_basic_needs": "partly"}
    body = urllib.parse.urlencode({"csrf_token": csrf, "action": "next", "shown": list(housing), **housing},
                                  doseq=True).encode()
    _at_once(opener, f"{server}/s/{token}/housing", body, times=2)
    income = {"work_status": "day_labour", "income_sources": ["work", "family"], "business_started": "no",
              "income_covers_needs": "sometimes", "food_cut": "often", "debts": "yes", "can_borrow": "no"}
    body = urllib.parse.urlencode({"csrf_token": csrf, "action": "next", "shown": list(income), **income},
                                  doseq=True).encode()
    statuses = _at_once(opener, f"{server}/s/{token}/income", body, times=10)
    assert all(status in (200, 302) for status in statuses), sorted(statuses)
    assert _answers_of("income_sources") == ["work", "family"]
    assert _answers_of("housing_situation") == ["rented"]
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1


def _answer_all_but_the_last(opener, csrf, server, token):
    """Every questionnaire page but the last, answered and sent on (each one moves on: a page that
    came back to itself was not accepted)."""
    from tests.test_respond import PAGES

    for module in list(PAGES)[:-1]:
        answers = PAGES[module]
        body = urllib.parse.urlencode({"csrf_token": csrf, "action": "next", "shown": _shown(answers), **answers},
                                      doseq=True).encode()
        try:
            opener.open(f"{server}/s/{token}/{module}", data=body)
        except urllib.error.HTTPError as answer:
            assert answer.code == 302 and not answer.headers["Location"].endswith(f"/{module}"), module


def test_the_last_page_sent_twice_at_once_completes_once_and_thanks_both(app, orgs, server):
    from tests.test_respond import PAGES

    returnee = make_returnee(orgs["caritas"], "GE-D-003", orgs["caritas-ge"], language="en")
    token = link_for(returnee, "m1")
    db.session.commit()
    opener, csrf = _phone_at(server, token)
    modules = list(PAGES)
    _answer_all_but_the_last(opener, csrf, server, token)
    last = PAGES[modules[-1]]
    body = urllib.parse.urlencode({"csrf_token": csrf, "action": "next", "shown": list(last), **last},
                                  doseq=True).encode()
    statuses = _at_once(opener, f"{server}/s/{token}/{modules[-1]}", body, times=6)
    assert all(status in (200, 302) for status in statuses), sorted(statuses)
    db.session.expire_all()
    follow_up = db.session.scalar(select(FollowUp))
    assert follow_up.disposition == "1.1"
    closes = db.session.scalar(select(func.count()).select_from(FollowUpEvent).where(FollowUpEvent.transition == "close"))
    assert closes == 1
    page = opener.open(f"{server}/s/{token}").read().decode()
    assert "Thank you" in page


def _devices(server, token, count):
    """`count` browsers of their own (the link opened on a phone and a laptop...), the first having
    given consent: [(opener, CSRF token)]."""
    first = _phone_at(server, token)
    return [first] + [_opened(f"{server}/s/{token}/housing") for _ in range(count - 1)]


def _all_at_once(presses) -> list[int]:
    """[(opener, url, body)] sent all at once, each from its own thread; the statuses."""
    statuses, barrier = [], threading.Barrier(len(presses))

    def press(opener, url, body):
        barrier.wait()
        try:
            statuses.append(opener.open(url, data=body).status)
        except urllib.error.HTTPError as answer:
            statuses.append(answer.code)

    threads = [threading.Thread(target=press, args=presses[n]) for n in range(len(presses))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_one_page_sent_with_different_answers_from_several_devices_keeps_one_set(app, orgs, server):
    returnee = make_returnee(orgs["caritas"], "GE-D-004", orgs["caritas-ge"], language="en")
    token = link_for(returnee, "m1")
    db.session.commit()
    sets = [{"housing_situation": "rented", "housing_can_stay": "yes", "housing_basic_needs": "partly"},
            {"housing_situation": "family", "housing_can_stay": "no", "housing_basic_needs": "yes"},
            {"housing_situation": "own", "housing_can_stay": "dont_know", "housing_basic_needs": "no"}]
    presses = []
    for n, (opener, csrf) in enumerate(_devices(server, token, 3) * 4):
        answers = sets[n % 3]
        body = urllib.parse.urlencode({"csrf_token": csrf, "action": "next", "shown": list(answers), **answers},
                                      doseq=True).encode()
        presses.append((opener, f"{server}/s/{token}/housing", body))
    statuses = _all_at_once(presses)
    assert all(status in (200, 302) for status in statuses), sorted(statuses)
    stored = {item: _answers_of(item) for item in sets[0]}
    assert {item: codes[0] for item, codes in stored.items()} in sets, stored  # one press's set, not a mix
    assert all(len(codes) == 1 for codes in stored.values()), stored
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1


def test_the_last_page_from_several_devices_at_once_completes_once(app, orgs, server):
    from monitor.models import AuditEntry, ResponseAnswer
    from tests.test_respond import PAGES

    returnee = make_returnee(orgs["caritas"], "GE-D-005", orgs["caritas-ge"], language="en")
    token = link_for(returnee, "m1")
    db.session.commit()
    devices = _devices(server, token, 3)
    opener, csrf = devices[0]
    modules = list(PAGES)
    _answer_all_but_the_last(opener, csrf, server, token)
    last = PAGES[modules[-1]]
    presses = [(device, f"{server}/s/{token}/{modules[-1]}",
                urllib.parse.urlencode({"csrf_token": device_csrf, "action": "next", "shown": list(last), **last},
                                       doseq=True).encode())
               for device, device_csrf in devices * 4]
    statuses = _all_at_once(presses)
    assert all(status in (200, 302) for status in statuses), sorted(statuses)
    db.session.expire_all()
    follow_up = db.session.scalar(select(FollowUp))
    assert follow_up.disposition == "1.1"
    count = lambda query: db.session.scalar(select(func.count()).select_from(query))  # noqa: E731
    assert count(select(Response).subquery()) == 1
    assert count(select(FollowUpEvent).where(FollowUpEvent.transition == "close").subquery()) == 1
    assert count(select(AuditEntry).where(AuditEntry.action == "response.complete").subquery()) == 1
    for item in last:
        assert count(select(ResponseAnswer).where(ResponseAnswer.item == item).subquery()) == 1, item
    for device, _csrf in devices:  # every device is thanked
        assert "Thank you" in device.open(f"{server}/s/{token}").read().decode()


def test_stop_pressed_twice_at_once_on_the_link_page_is_recorded_once(app, orgs, server):
    """The link's "no more messages" pressed from two taps at once: one STOP in the consent
    history and in the audit log, the returnee opted out, no 500."""
    from monitor.models import AuditEntry, ConsentEvent, Returnee

    returnee = make_returnee(orgs["caritas"], "GE-D-009", orgs["caritas-ge"], language="en")
    token = link_for(returnee, "m1")
    db.session.commit()
    opener, csrf = _phone_at(server, token)
    body = urllib.parse.urlencode({"csrf_token": csrf}).encode()
    statuses = _at_once(opener, f"{server}/s/{token}/opt-out", body, times=6)
    assert all(status == 200 for status in statuses), sorted(statuses)
    db.session.expire_all()
    assert db.session.scalar(select(Returnee.opted_out_at).where(Returnee.code == "GE-D-009")) is not None
    assert db.session.scalar(select(func.count()).select_from(ConsentEvent).where(ConsentEvent.kind == "stop")) == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "returnee.sms.stop")) == 1
