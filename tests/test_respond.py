"""The returnee's questionnaire through a personal link, on both databases."""
from __future__ import annotations

import gzip
import re
from datetime import timedelta

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from monitor.extensions import db
from monitor.models import Response, ResponseAnswer
from monitor.models.types import utcnow
from monitor.responses.operations import stored_answers
from surveys import registry
from surveys.scoring import red_flags, score
from surveys.translation import LANGUAGES, translator
from tests.conftest import link_for, make_returnee
from tests.pageweight import BUDGET, page_weights

TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')

# A full set of answers, module by module, as a returnee's phone would send them.
PAGES = {
    "housing": {"housing_situation": "rented", "housing_can_stay": "yes", "housing_basic_needs": "partly"},
    "income": {"work_status": "day_labour", "income_sources": ["work", "family"], "business_started": "no",
               "income_covers_needs": "sometimes", "food_cut": "often", "debts": "yes", "can_borrow": "no"},
    "social": {"household_size": "4", "someone_to_rely_on": "yes", "family_contact": "often",
               "accepted_family": "fully", "accepted_community": "partly", "community_life": "no",
               "children_school": "all"},
    "health": {"physical_health": "4", "access_care": "yes", "medication_needed": "yes",
               "medication_available": "no", "distress": "often", "wants_support": "yes"},
    "heard": {"heard_from": ["family_friends", "return_desk"], "heard_from__first": "return_desk",
              "applied_through": "return_desk"},
    "decision": {"decision_factors__1": "family_at_home", "decision_factors__2": "no_work",
                 "decision_factors__3": "homesickness"},
    "safety": {"feels_safe": "mostly_safe", "problems_authorities": "no", "discrimination": "sometimes"},
    "support": {"support_received": "part", "support_on_time": "no", "asked_to_pay": "no",
                "partner_satisfaction": "4"},
    "outlook": {"decision_own": "fully", "migrate_again": "no", "life_compared": "better", "would_recommend": "yes"},
}


@pytest.fixture
def link(app, orgs):
    returnee = make_returnee(orgs["caritas"], "GE-R-001", orgs["caritas-ge"], language="ru")
    token = link_for(returnee, "m1", utcnow() + timedelta(days=30))
    db.session.commit()
    return token


class Phone:
    """A returnee's browser: follows the pages, keeps the CSRF token of the last one."""

    def __init__(self, app, token):
        self.app, self.token, self.client = app, token, app.test_client()
        self.page = None

    def open(self, path="", **kwargs):
        with self.app.app_context():
            response = self.client.get(f"/s/{self.token}{path}", **kwargs)
            if response.status_code == 302:
                response = self.client.get(response.location)
        self.page = response
        return response

    def post(self, path, data):
        token = TOKEN_FIELD.search(self.page.get_data(as_text=True)).group(1)
        with self.app.app_context():
            response = self.client.post(f"/s/{self.token}{path}", data={"csrf_token": token, **data})
            if response.status_code == 302:
                response = self.client.get(response.location)
        self.page = response
        return response

    def shown(self):
        return re.findall(r'name="shown" value="(\w+)"', self.page.get_data(as_text=True))

    def answer_everything(self):
        """Open the link, consent, and send every page of PAGES."""
        self.open()
        self.post("/consent", {"choice": "agree"})
        for module, answers in PAGES.items():
            self.answer(module, answers)
        return self.page

    def answer(self, module, answers, action="next"):
        """Send a page; when it comes back with new questions (skip logic), send it again."""
        before = set(self.shown())
        page = self.post(f"/{module}", {"shown": sorted(before), "action": action, **answers})
        if page.status_code == 200 and page.request.path.endswith(f"/{module}") and set(self.shown()) > before:
            page = self.post(f"/{module}", {"shown": self.shown(), "action": action, **answers})
        return page


def the_response():
    db.session.expire_all()
    return db.session.scalar(select(Response))


def test_full_round_trip(app, link):
    phone = Phone(app, link)
    page = phone.open().get_data(as_text=True)
    assert '<html lang="ru" dir="ltr">' in page
    assert "Nino" not in page and "+995" not in page and "GE-R-001" not in page  # no personal data
    page = phone.post("/consent", {"choice": "agree"})
    assert page.request.path.endswith("/housing")
    for module, answers in PAGES.items():
        page = phone.answer(module, answers)
        assert page.status_code == 200, (module, page.get_data(as_text=True)[:500])
    assert "<h1>" + translator("ru")("Thank you") + "</h1>" in page.get_data(as_text=True), (page.request.path, re.findall(r"<h1>([^<]+)", page.get_data(as_text=True)))

    response = the_response()
    assert response.completed_at is not None and response.disposition == "1.1"
    questionnaire = registry.current()
    assert (response.mode, response.language, response.questionnaire_version) == ("sms-web", "ru", questionnaire.version)
    answers = stored_answers(response)
    assert answers["heard_from"] == ["return_desk", "family_friends"]  # the first-marked one first
    assert answers["decision_factors"] == ["family_at_home", "no_work", "homesickness"]
    assert answers["household_size"] == 4 and answers["physical_health"] == 4
    expected = score(questionnaire, answers)
    assert response.score_economic == expected.dimensions["economic"]
    assert response.score_composite == expected.composite is not None
    assert response.flags == sorted(red_flags(questionnaire, answers)) == [
        "distress_wants_support", "food_cut_often", "medication_unavailable"]
    # The link is used: it thanks, and takes no second response.
    again = phone.open()
    assert again.status_code == 200 and translator("ru")("Thank you") in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1


def test_skip_logic_shows_dependent_questions_after_the_answer(app, link):
    phone = Phone(app, link)
    phone.open()
    phone.post("/consent", {"choice": "agree"})
    assert "housing_other" not in phone.shown()
    page = phone.post("/housing", {"shown": phone.shown(), "action": "next", "housing_situation": "other"})
    assert page.request.path.endswith("/housing") and "housing_other" in phone.shown()
    assert 'value="other" checked' in page.get_data(as_text=True)
    page = phone.post("/housing", {"shown": phone.shown(), "action": "next", "housing_situation": "other",
                                   "housing_other": "a tent  in the yard"})
    assert page.request.path.endswith("/income")
    assert stored_answers(the_response())["housing_other"] == "a tent in the yard"


def test_required_question_and_errors_in_the_returnees_language(app, link):
    phone = Phone(app, link)
    phone.open()
    phone.post("/consent", {"choice": "agree"})
    page = phone.answer("housing", {"housing_can_stay": "yes"})
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert translator("ru")("Please answer this question.") in text
    assert 'value="yes" checked' in text  # what was sent is kept
    assert stored_answers(the_response()) == {"housing_can_stay": "yes"}  # and saved


def test_back_and_resume(app, link):
    phone = Phone(app, link)
    phone.open()
    phone.post("/consent", {"choice": "agree"})
    phone.answer("housing", PAGES["housing"])
    page = phone.answer("income", {"work_status": "employed"}, action="back")
    assert page.request.path.endswith("/housing")
    assert 'value="rented" checked' in page.get_data(as_text=True)
    # Another day, another phone: the link resumes after the last module passed.
    later = Phone(app, link)
    assert later.open().request.path.endswith("/income")
    assert 'value="employed" checked' in later.page.get_data(as_text=True)


def test_decline_records_a_refusal(app, link):
    phone = Phone(app, link)
    phone.open()
    page = phone.post("/consent", {"choice": "decline"})
    assert translator("ru")("You chose not to answer. This changes nothing about your support.") in page.get_data(as_text=True)
    from monitor.models import FollowUp

    assert the_response() is None and db.session.scalar(select(func.count()).select_from(ResponseAnswer)) == 0
    follow_up = db.session.scalar(select(FollowUp))
    assert (follow_up.state, follow_up.disposition) == ("closed", "2.11") and follow_up.contacted_at is not None
    page = phone.open(path="/housing")  # no way back into the questionnaire
    assert page.status_code == 200 and 'name="shown"' not in page.get_data(as_text=True)


def test_expired_unknown_and_used_links(app, orgs, link):
    returnee = make_returnee(orgs["iom"], "GE-R-002", orgs["iom-ge"], language="ka")
    orgs["iom"].contact_phone = "+3222877000"
    old = link_for(returnee, "m1", utcnow() - timedelta(minutes=1))
    db.session.commit()
    expired = Phone(app, old).open()
    assert expired.status_code == 410
    text = expired.get_data(as_text=True)
    assert '<html lang="ka"' in text and translator("ka")("This link has expired") in text
    assert "+3222877000" in text
    unknown = Phone(app, "x" * 22).open()
    assert unknown.status_code == 404


def test_the_once_only_modules_are_asked_at_the_first_response_whatever_its_wave(app, orgs):
    returnee = make_returnee(orgs["caritas"], "GE-R-004")
    phone = Phone(app, link_for(returnee, "m6"))
    db.session.commit()
    phone.answer_everything()
    assert the_response().first_follow_up and the_response().completed_at is not None
    assert "heard_from" in the_response().answers


def test_later_responses_skip_the_once_only_modules(app, orgs):
    returnee = make_returnee(orgs["caritas"], "GE-R-003")
    first = link_for(returnee, "m1")
    db.session.commit()
    Phone(app, first).answer_everything()
    token = link_for(returnee, "m6", utcnow() + timedelta(days=30))
    db.session.commit()
    phone = Phone(app, token)
    phone.open()
    phone.post("/consent", {"choice": "agree"})
    assert phone.page.request.path.endswith("/housing")
    for module in ("housing", "income", "social", "health"):
        phone.answer(module, PAGES[module])
    assert phone.page.request.path.endswith("/safety")
    assert phone.open(path="/heard").status_code == 404


@pytest.mark.parametrize("language", LANGUAGES)
def test_page_weight_budget(app, orgs, language):
    returnee = make_returnee(orgs["caritas"], f"GE-W-{language}", language=language)
    weights = page_weights(app, returnee)
    assert len(weights) == 10 and all(500 < size <= BUDGET for size in weights.values()), weights


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_in_every_language(app, orgs, language):
    returnee = make_returnee(orgs["caritas"], f"GE-L-{language}", language=language)
    token = link_for(returnee, "m1", utcnow() + timedelta(days=30))
    db.session.commit()
    phone = Phone(app, token)
    phone.open()
    phone.post("/consent", {"choice": "agree"})
    t = translator(language)
    direction = "rtl" if language in ("ar", "fa", "ps") else "ltr"
    for module in registry.current().modules:
        page = phone.open(path=f"/{module.code}")
        html = page.get_data(as_text=True)
        assert f'dir="{direction}"' in html and f'lang="{t.html_lang}"' in html
        assert "<script" not in html
        assert str(escape(t(module.title))) in html and (language == "en" or t.has(module.title))
    # The 30 KB budget per page, HTML and CSS as the server sends them: test_page_weight.


def test_web_opt_out_for_senders_that_take_no_replies(app, link):
    from monitor.models import FollowUp, Returnee

    phone = Phone(app, link)
    page = phone.open().get_data(as_text=True)
    assert translator("ru")("Do not send me any more messages") in page
    page = phone.post("/opt-out", {})
    assert translator("ru")("You will get no more messages from us. This changes nothing about your support.") in \
        page.get_data(as_text=True)
    returnee = db.session.scalar(select(Returnee).where(Returnee.code == "GE-R-001"))
    db.session.refresh(returnee)
    # STOP holds across channels: no SMS, no phone call, no visit.
    assert returnee.opted_out_at is not None and not returnee.may_contact("sms") and not returnee.may_contact("phone")
    follow_up = db.session.scalar(select(FollowUp).where(FollowUp.returnee_id == returnee.id))
    assert (follow_up.state, follow_up.disposition) == ("closed", "2.11")


def test_an_answer_that_must_stand_alone_is_refused_in_the_returnees_language(app, link):
    from surveys.items import EXCLUSIVE_MESSAGE

    phone = Phone(app, link)
    phone.open()
    phone.post("/consent", {"choice": "agree"})
    phone.answer("housing", PAGES["housing"])
    page = phone.answer("income", {**PAGES["income"], "income_sources": ["none", "work"]})
    assert page.status_code == 422 and page.request.path.endswith("/income")
    assert str(escape(translator("ru")(EXCLUSIVE_MESSAGE))) in page.get_data(as_text=True)
    assert "income_sources" not in stored_answers(the_response())
    page = phone.answer("income", {**PAGES["income"], "income_sources": ["none"]})
    assert page.request.path.endswith("/social") and stored_answers(the_response())["income_sources"] == ["none"]


def test_pages_are_sent_compressed_and_the_stylesheet_is_cached_by_its_hash(app, link):
    from tests.pageweight import Wire, served

    with served(app) as base:
        phone = Wire(base)
        status, body, headers = phone.get(f"/s/{link}")
        assert status == 200 and headers["Content-Encoding"] == "gzip"
        assert len(body) < len(gzip.decompress(body)) * 0.6
        assert headers["Cache-Control"] == "no-store"
        stylesheet = re.search(r'href="(/static/css/respond.css\?v=[0-9a-f]{12})"', phone.text(f"/s/{link}")).group(1)
        status, _body, headers = phone.get(stylesheet)
        assert status == 200 and headers["Cache-Control"] == "public, max-age=31536000, immutable"
        # Without the hash (or with an old one) the browser asks again each time.
        assert phone.get("/static/css/respond.css?v=000000000000")[2]["Cache-Control"] == "no-cache"


def test_the_favicon_is_a_tiny_icon_cached_for_a_week(app, users, browser_for):
    """Every browser asks for /favicon.ico: a small icon, not a 404 with the staff error page,
    and not asked for again on every page (for staff too, whose pages are no-store)."""
    for user in (None, users["admin"]):
        response = browser_for(user).get("/favicon.ico")
        assert response.status_code == 200 and response.mimetype == "image/x-icon"
        body = response.get_data()
        assert body[:4] == b"\x00\x00\x01\x00" and len(body) < 300  # an ICO, a PNG inside
        assert body[22:30] == b"\x89PNG\r\n\x1a\n"
        assert "max-age=604800" in response.headers["Cache-Control"]
        assert "no-store" not in response.headers["Cache-Control"]


def _statements(app, request) -> list[str]:
    """The SQL statements one request runs (an executemany counts once)."""
    from sqlalchemy import event

    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        with app.app_context():
            response = request()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code in (200, 302), response.status_code
    return seen


def test_a_returnee_page_runs_at_most_three_statements_and_a_saved_page_six(app, link):
    phone = Phone(app, link)
    phone.open()
    phone.post("/consent", {"choice": "agree"})
    phone.answer("housing", PAGES["housing"])
    # Reading a page: the link with its returnee and partners; the follow-up with its response;
    # the answers. Nothing else is loaded (vulnerabilities, scores, flags, needs, events).
    shown = _statements(app, lambda: phone.client.get(f"/s/{link}/income"))
    assert len(shown) <= 3, shown
    page = phone.client.get(f"/s/{link}/income")
    token = TOKEN_FIELD.search(page.get_data(as_text=True)).group(1)
    income = PAGES["income"]
    saved = _statements(app, lambda: phone.client.post(f"/s/{link}/income", data={
        "csrf_token": token, "shown": list(income), "action": "next", **income}))
    # The same three (the follow-up locked), one DELETE and one INSERT of the page's answers, one
    # UPDATE of where the returnee got to.
    assert len(saved) <= 6, saved
    db.session.expire_all()
    assert stored_answers(the_response())["income_sources"] == ["work", "family"]


def test_an_answer_that_adds_a_question_says_so_and_opens_at_it(app, link):
    """Without JavaScript a question that depends on an answer of the same page comes once the
    page is sent: the page comes back saying a question was added, in the returnee's language,
    at the new question (#added), not at the top of the same page with no word why."""
    t = translator("ru")
    phone = Phone(app, link)
    phone.open()
    phone.post("/consent", {"choice": "agree"})
    with app.app_context():
        token = TOKEN_FIELD.search(phone.page.get_data(as_text=True)).group(1)
        sent = phone.client.post(f"/s/{link}/health", data={
            "csrf_token": token, "shown": ["physical_health", "access_care", "medication_needed", "distress"],
            "physical_health": "3", "access_care": "yes", "medication_needed": "no", "distress": "often",
            "action": "next"})
    assert sent.status_code == 302 and sent.location.endswith("/health?added=wants_support#added")
    page = phone.open(path="/health?added=wants_support").get_data(as_text=True)
    message = t("A question was added below, based on your answer.")
    assert message != "A question was added below, based on your answer."  # translated
    assert page.count('id="added"') == 1
    # the message stands right before the question that was added, with its answers kept above
    assert str(escape(message)) in page.split('id="q-wants_support"')[0].split('id="q-distress"')[1]
    assert stored_answers(the_response())["distress"] == "often"
    # a page without an added question, or one naming a question not on it, says nothing
    assert 'id="added"' not in phone.open(path="/health").get_data(as_text=True)
    assert 'id="added"' not in phone.open(path="/housing?added=wants_support").get_data(as_text=True)
    # a page sent with nothing new goes on to the next part, as before
    phone.open(path="/health")
    assert phone.answer("health", PAGES["health"]).request.path.endswith("/heard")


def test_the_returnee_is_given_the_local_partners_contact(app, orgs, link):
    """The consent page names who asks (the local partner the returnee knows) and gives its
    contact, as do the end page and the opt-out page: Caritas Georgia's number in Georgia, not
    the Brussels one; a local partner without a contact falls back to its reintegration partner's."""
    orgs["caritas"].contact_phone = "+3222293611"
    orgs["caritas-ge"].contact_phone = "+995322000111"
    orgs["caritas-ge"].contact_email = "help@caritas-ge.example"
    db.session.commit()
    t = translator("ru")
    phone = Phone(app, link)
    consent = phone.open().get_data(as_text=True)
    assert t("These questions come from %(name)s, who supports you after your return.",
             name="Caritas Georgia") in consent
    for page in (consent, phone.answer_everything().get_data(as_text=True)):
        assert t("Questions? Contact %(name)s", name="Caritas Georgia") in page
        assert 'href="tel:+995322000111"' in page and "mailto:help@caritas-ge.example" in page
        assert "+3222293611" not in page
    assert t("Thank you") in page

    returnee = make_returnee(orgs["caritas"], "AM-R-001", orgs["caritas-am"], destination_country="AM",
                             phone="+37477123400", language="hy")
    other = Phone(app, link_for(returnee, "m1", utcnow() + timedelta(days=30)))
    db.session.commit()
    other.open()
    page = other.post("/opt-out", {}).get_data(as_text=True)
    assert translator("hy")("Questions? Contact %(name)s", name="Caritas International") in page
    assert 'href="tel:+3222293611"' in page  # Caritas Armenia has no contact of its own
