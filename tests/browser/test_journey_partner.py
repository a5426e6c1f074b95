"""Partner staff's journey in a real browser, in English and once more in Russian: log in, the
work list, a call that is not answered, a later call that gets through and the interview entered
in full, the red flag it raised under needs attention, what was done recorded and the item
closed. Every page checked for weight and keyboard reach (tests/browser/journey.py)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from monitor.extensions import db
from tests.browser.journey import log_in, STAFF_BUDGET, Journey

pytestmark = pytest.mark.browser

ACCOUNTS = {"en": ("iom@demo.example", "iom"), "ru": ("caritas-ge@demo.example", "caritas-ge")}


def _phone_task(app, organisation_code):
    """A follow-up of this organisation's caseload made a phone task, as the scheduler does after
    the last SMS reminder; one nobody else's test touches."""
    from monitor.followups.operations import apply_transition
    from monitor.models import FollowUp, Organisation, Returnee

    with app.app_context():
        org = db.session.scalar(select(Organisation).where(Organisation.code == organisation_code))
        column = Returnee.partner_id if org.kind == "reintegration" else Returnee.local_partner_id
        follow_up = db.session.scalars(
            select(FollowUp).join(Returnee, Returnee.id == FollowUp.returnee_id)
            .where(FollowUp.state.in_(("invited", "reminded")), column == org.id, Returnee.consent_phone)
            .order_by(FollowUp.id.desc())).first()
        assert follow_up is not None, f"no open SMS follow-up for {organisation_code} in the demo"
        apply_transition(follow_up, "to_phone", actor="scheduler")
        db.session.commit()
        return follow_up.returnee.code, follow_up.wave, follow_up.id


def _translated(app, language):
    from flask_babel import force_locale, gettext

    def t(text, **values):
        with app.test_request_context(), force_locale(language):
            return gettext(text, **values)
    return t


def _answer_until_complete(page, t, journey):
    """Answer what the form asks for until it saves as complete: the housing answer that raises
    the red flag first, then each question the form marks as missing (first option, 1, a word)."""
    page.select_option("#mode", "phone")
    page.check("input[name=housing_situation][value=shelter]")
    for _ in range(12):
        page.click("button[value=complete]")
        page.wait_for_load_state()
        if "/returnees/" in page.url:
            return
        invalid = page.locator(".field.invalid, fieldset.invalid")
        assert invalid.count(), page.inner_text("main")[:2000]
        for index in range(invalid.count()):
            field = invalid.nth(index)
            if field.locator("input[type=radio]").count():
                field.locator("input[type=radio]").first.check()
            elif field.locator("input[type=checkbox]").count():
                field.locator("input[type=checkbox]").first.check()
            elif field.locator("select").count():
                select_box = field.locator("select").first
                select_box.select_option(index=1)
            elif field.locator("input[type=number]").count():
                field.locator("input[type=number]").first.fill("1")
            else:
                field.locator("input, textarea").first.fill("—")
    raise AssertionError("the interview never saved as complete")


@pytest.fixture
def account_language_kept(live_server):
    """The staff language chosen in the journey is the account's: put back afterwards, for the
    other tests that log in with the same demo account on the same server."""
    from monitor.models import User

    app = live_server["app"]
    with app.app_context():
        before = {user.email: user.locale for user in db.session.scalars(select(User))}
    yield
    with app.app_context():
        for user in db.session.scalars(select(User)):
            user.locale = before.get(user.email)
        db.session.commit()


@pytest.mark.parametrize("language", ["en", "ru"])
def test_partner_staff_call_interview_and_close_the_need(chromium, live_server, language, account_language_kept):
    app = live_server["app"]
    email, organisation = ACCOUNTS[language]
    code, wave, follow_up_id = _phone_task(app, organisation)
    t = _translated(app, language)

    context = chromium.new_context(base_url=live_server["url"], locale="en-GB", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    journey = Journey(page, f"partner-{language}", STAFF_BUDGET)
    page.goto("/login")
    log_in(page, email, home=r"/worklist/")
    if language != "en":  # the staff language, chosen from the header
        page.select_option("#locale-switch", language)
        page.click("form.language button")
        page.wait_for_url(re.compile(r"/worklist/"))
        assert page.locator("html").get_attribute("lang") == language
    assert page.locator("h1").inner_text().startswith(t("Work list"))
    journey.see("work list")

    def row():
        return page.locator("table.worklist tbody tr", has=page.locator(f"a:text-is('{code}')"))

    # A call that is not answered: recorded in two clicks, the task waits for its retry delay.
    assert row().count() == 1
    row().locator("select[name=outcome]").select_option("no_answer")
    row().locator("form.attempt button[type=submit]").click()
    page.wait_for_load_state()
    from monitor import codes
    with app.test_request_context():
        from flask_babel import force_locale
        with force_locale(language):
            outcome, later = str(codes.CALL_OUTCOMES["no_answer"]), str(codes.WORKLIST_STATUSES["later"])
    assert t("%(code)s: %(outcome)s recorded.", code=code, outcome=outcome) in page.inner_text("main")
    assert later in row().inner_text()  # off "to call" until its retry delay has passed
    journey.see("after no answer")
    page.goto("/worklist/?status=later")
    assert row().count() == 1
    journey.see("later")

    # Later the call gets through: the interview is entered in full, and the housing answer
    # ("in a shelter") raises a red flag.
    row().locator("a[href*='/interviews/']").click()
    page.wait_for_url(re.compile(r"/interviews/"))
    journey.see("interview")
    _answer_until_complete(page, t, journey)
    assert t("Interview saved as complete.") in page.inner_text("main")
    journey.see("case after the interview")

    with app.app_context():
        from monitor.models import FollowUp

        follow_up = db.session.get(FollowUp, follow_up_id)
        assert follow_up.state == "closed" and follow_up.disposition == "1.1"

    # The red flag is under needs attention; it closes with what was done, never without.
    from surveys.translation import translator

    flag = translator(language)("Homeless or in a shelter")
    page.goto("/worklist/?status=needs_attention")

    def need():
        return page.locator("table.needs tbody tr", has=page.locator(f"a:text-is('{code}')")).filter(has_text=flag)
    assert need().count() == 1
    journey.see("needs attention")
    need().locator("select[name=action]").select_option("referred")
    need().locator("input[name=note], textarea[name=note]").first.fill("Referred to the shelter programme")
    need().locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert need().count() == 0
    journey.see("need closed")

    with app.app_context():
        from monitor.models import AttentionItem, Response

        item = db.session.scalar(select(AttentionItem).join(Response, Response.id == AttentionItem.response_id)
                                 .where(Response.follow_up_id == follow_up_id, AttentionItem.flag == "no_shelter"))
        assert item.closed_at is not None and item.action == "referred"
    context.close()
