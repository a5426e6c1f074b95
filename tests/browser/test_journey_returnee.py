"""The returnee's journey in a real browser, on a phone's screen: the invitation as it stands in
the console outbox, its link opened, consent, the questionnaire in Georgian (and, for another
returnee, in Arabic right to left), the page closed halfway and the link opened again where it
was left, a follow-up question opened by an answer, the answers sent, and the link then closed to
answers. Once with JavaScript and once without. Every page checked for weight (30 KB) and
keyboard reach (tests/browser/journey.py)."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import func, select

from monitor.extensions import db
from tests.browser.journey import log_in, RETURNEE_BUDGET, Journey
from tests.conftest import make_returnee

pytestmark = pytest.mark.browser

PHONE = {"ka": "+99559{:07d}", "ar": "+96477{:08d}"}


def _invited(app, language, suffix):
    """A case that returned a month ago, planned and invited by the scheduler's own functions at
    noon in Tbilisi / Baghdad (inside the sending hours, whatever the hour the test runs)."""
    from monitor.models import Organisation
    from scheduler.dispatch import dispatch
    from scheduler.planning import plan

    country, partner, local = {"ka": ("GE", "caritas", "caritas-ge"), "ar": ("IQ", "iom", None)}[language]
    code = f"J{language.upper()}-{suffix}"
    with app.app_context():
        orgs = {o.code: o for o in db.session.scalars(select(Organisation))}
        number = int(datetime.now().timestamp()) % 10_000_000 + (1 if suffix == "nojs" else 0)
        make_returnee(orgs[partner], code, orgs.get(local), destination_country=country, language=language,
                      return_date=date.today() - timedelta(days=30), phone=PHONE[language].format(number),
                      name=None)
        db.session.commit()
        plan(date.today())
        dispatch(datetime.combine(date.today(), time(9, 0), tzinfo=timezone.utc))
    return code


def _link_from_the_outbox(chromium, live_server, code):
    """What an administrator sees in the console outbox: the invitation and its link."""
    context = chromium.new_context(base_url=live_server["url"], locale="en-GB")
    page = context.new_page()
    page.goto("/login")
    log_in(page, "admin@demo.example")
    page.goto("/admin/outbox")
    row = page.locator("tbody tr", has=page.locator(f"a:text-is('{code}')"))
    assert row.count() == 1, f"one invitation for {code} in the outbox"
    href = row.locator("td a[href*='/s/']").get_attribute("href")
    context.close()
    return re.sub(r"^https?://[^/]+", "", href)  # the path: the test server listens on its own port


def _answer_page(page, choose=None):
    """Answer each question on the page that has no answer yet: the first option, 1, the first
    rank; `choose` maps an item code to the option to pick instead."""
    choose = choose or {}
    for fieldset in page.locator("fieldset.item").all():
        if not fieldset.is_visible():
            continue
        name = (fieldset.get_attribute("id") or "")[2:]
        radios = fieldset.locator("input[type=radio]")
        boxes = fieldset.locator("input[type=checkbox]")
        if name in choose:
            fieldset.locator(f"input[value='{choose[name]}']").check()
        elif radios.count():
            if not fieldset.locator("input[type=radio]:checked").count():
                radios.first.check()
        elif boxes.count():
            if not fieldset.locator("input[type=checkbox]:checked").count():
                boxes.first.check()
        elif fieldset.locator("select").count():
            first = fieldset.locator("select").first
            if not first.input_value():
                first.select_option(index=1)
        elif fieldset.locator("input[type=number]").count():
            box = fieldset.locator("input[type=number]").first
            if not box.input_value():
                box.fill("1")
        elif fieldset.locator("input[type=date]").count():
            box = fieldset.locator("input[type=date]").first
            if not box.input_value():
                box.fill((date.today() - timedelta(days=20)).isoformat())


def _answers_of(app, code):
    from monitor.models import FollowUp, Response, ResponseAnswer, Returnee

    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(ResponseAnswer).join(Response, Response.id == ResponseAnswer.response_id)
            .join(FollowUp, FollowUp.id == Response.follow_up_id).join(Returnee, Returnee.id == FollowUp.returnee_id)
            .where(Returnee.code == code))


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_returnee_answers_from_the_invitation_to_the_end(chromium, live_server, javascript):
    from surveys.translation import translator

    app = live_server["app"]
    suffix = "js" if javascript else "nojs"
    t = translator("ka")
    code = _invited(app, "ka", suffix)
    link = _link_from_the_outbox(chromium, live_server, code)

    def phone():
        context = chromium.new_context(base_url=live_server["url"], java_script_enabled=javascript,
                                       viewport={"width": 360, "height": 640}, locale="ka-GE", is_mobile=True)
        return context, context.new_page()

    context, page = phone()
    journey = Journey(page, f"returnee-ka-{suffix}", RETURNEE_BUDGET)
    page.goto(link)
    assert page.locator("html").get_attribute("lang") == "ka"
    assert "Caritas" in page.inner_text("main")  # who is asking: the partner the returnee knows
    journey.see("invitation link")
    page.click("button[value=agree]")
    page.wait_for_url(re.compile(r"/s/[^/]+/[a-z_]+$"))
    first_part = page.url
    journey.see("first part")

    # A follow-up question: "other" housing asks what it is.
    page.check("input[name=housing_situation][value=other]")
    other = page.locator("input[name=housing_other]")
    if not other.is_visible():  # without a script it comes with the page that answers the choice
        page.click("button[value=next]")
        page.wait_for_load_state()
        # the added question is asked before going on: the page says so and opens at it
        assert page.url == first_part + "?added=housing_other#added"
        assert page.locator("#added").inner_text() == t("A question was added below, based on your answer.")
    assert other.is_visible()
    journey.see("follow-up question")
    other.fill("ქოხი")
    _answer_page(page)
    page.click("button[value=next]")
    page.wait_for_url(lambda url: url != first_part)
    second_part = page.url
    journey.see("second part")
    assert t("Part %(number)s of %(total)s", number=2, total=9) in page.inner_text("main") or "2" in page.inner_text("main")

    # Halfway: the phone's browser is closed. The link, opened again, goes on from there.
    context.close()
    context, page = phone()
    journey.page = page
    page.goto(link)
    page.wait_for_url(re.compile(r"/s/[^/]+/[a-z_]+$"))
    assert page.url.rsplit("/", 1)[1] == second_part.rsplit("/", 1)[1]
    journey.see("resumed")
    page.click("button[value=back]")
    page.wait_for_url(lambda url: url.endswith(first_part.rsplit("/", 1)[1]))
    assert page.locator("input[name=housing_other]").input_value() == "ქოხი"  # kept
    page.click("button[value=next]")
    page.wait_for_url(lambda url: url.endswith(second_part.rsplit("/", 1)[1]))

    # The rest, part by part, to the end.
    for _part in range(12):
        if page.locator("h1").inner_text() == t("Thank you"):
            break
        _answer_page(page)
        journey.see(f"part {page.url.rsplit('/', 1)[1]}")
        csrf = page.locator("input[name=csrf_token]").input_value()
        page.click("button[value=next]")
        page.wait_for_load_state()
    assert page.locator("h1").inner_text() == t("Thank you")
    journey.see("thank you")
    # Questions go to the partner in Georgia, on a Georgian number, not to Brussels.
    contact = page.locator("p.contact")
    assert "Caritas Georgia" in contact.inner_text()
    assert contact.locator("a[href^='tel:+995']").count() == 1 and "+32" not in contact.inner_text()

    # The link is closed to answers now: opening it thanks again, and a page sent again changes nothing.
    stored = _answers_of(app, code)
    page.goto(link)
    assert page.locator("h1").inner_text() == t("Thank you")
    response = page.request.post(second_part, form={"csrf_token": csrf, "action": "next", "work_status": "none"})
    assert response.status == 200 and t("Thank you") in response.text()
    assert _answers_of(app, code) == stored
    with app.app_context():
        from monitor.models import FollowUp, Returnee

        follow_up = db.session.scalar(select(FollowUp).join(Returnee).where(Returnee.code == code, FollowUp.wave == "m1"))
        assert follow_up.state == "closed" and follow_up.disposition == "1.1"
    context.close()


def test_a_returnee_answers_in_arabic_right_to_left(chromium, live_server):
    from surveys.translation import translator

    app = live_server["app"]
    t = translator("ar")
    code = _invited(app, "ar", "rtl")
    link = _link_from_the_outbox(chromium, live_server, code)
    context = chromium.new_context(base_url=live_server["url"], viewport={"width": 360, "height": 640},
                                   locale="ar-IQ", is_mobile=True)
    page = context.new_page()
    journey = Journey(page, "returnee-ar", RETURNEE_BUDGET)
    page.goto(link)
    assert page.locator("html").get_attribute("dir") == "rtl"
    journey.see("invitation link")
    page.click("button[value=agree]")
    page.wait_for_url(re.compile(r"/s/[^/]+/[a-z_]+$"))
    label = page.locator("label.choice").first
    radio = label.locator("input")
    assert radio.bounding_box()["x"] > label.bounding_box()["x"] + label.bounding_box()["width"] / 2  # right to left
    for _part in range(12):
        if page.locator("h1").inner_text() == t("Thank you"):
            break
        _answer_page(page)
        journey.see(f"part {page.url.rsplit('/', 1)[1]}")
        page.click("button[value=next]")
        page.wait_for_load_state()
    assert page.locator("h1").inner_text() == t("Thank you")
    assert page.locator("main").bounding_box()["width"] <= 360
    journey.see("thank you")
    context.close()
