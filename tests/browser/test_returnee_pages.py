"""The returnee's pages in a real browser, as on a phone without JavaScript."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOTS.mkdir(exist_ok=True)
VIEWPORT = {"width": 360, "height": 640}


def _link(live_server) -> str:
    from sqlalchemy import select

    from monitor.extensions import db
    from monitor.models import FollowUp, Returnee, SurveyLink
    from monitor.models.types import utcnow
    from tests.conftest import link_for

    with live_server["app"].app_context():
        # one whose one-month check is not over and who has no link yet (the demo worked through
        # the closed windows; other tests take the first ones)
        closed = select(FollowUp.id).where(FollowUp.returnee_id == Returnee.id, FollowUp.wave == "m1",
                                           FollowUp.state == "closed")
        linked = select(SurveyLink.id).where(SurveyLink.returnee_id == Returnee.id)
        returnee = db.session.scalars(select(Returnee).where(Returnee.phone.is_not(None), ~closed.exists(),
                                                             ~linked.exists())
                                      .order_by(Returnee.id.desc())).first()
        returnee.language = "en"
        token = link_for(returnee, "m1", utcnow() + timedelta(days=30))
        db.session.commit()
        return token


def test_a_question_added_by_an_answer_is_announced_and_scrolled_to(chromium, live_server):
    """Pressing Next on an answer that opens a follow-up question used to bring back the same
    page, at its top, with no word why: the returnee now reads that a question was added, and
    the page opens at it."""
    context = chromium.new_context(base_url=live_server["url"], java_script_enabled=False, viewport=VIEWPORT,
                                   locale="en-GB")
    page = context.new_page()
    token = _link(live_server)
    page.goto(f"/s/{token}")
    page.screenshot(path=str(SCREENSHOTS / "returnee-consent.png"), full_page=True)
    page.click("button[value=agree]")
    page.wait_for_url(re.compile(r"/housing$"))
    page.goto(f"/s/{token}/health")  # the last question of this page opens another one
    page.check("input[name=physical_health][value='3']")
    page.check("input[name=access_care][value=yes]")
    page.check("input[name=medication_needed][value=no]")
    page.check("input[name=distress][value=often]")
    page.click("button[value=next]")
    page.wait_for_url(re.compile(r"/health\?added=wants_support"))
    assert page.url.endswith("/health?added=wants_support#added"), page.url
    message = page.locator("#added")
    assert message.inner_text() == "A question was added below, based on your answer."
    # The page opened at the message and the new question, not at its top.
    box = message.bounding_box()
    assert 0 <= box["y"] < VIEWPORT["height"] / 2, box
    question = page.locator("#q-wants_support")
    assert question.bounding_box()["y"] < VIEWPORT["height"]
    assert page.locator("h1").bounding_box()["y"] < 0  # scrolled past the heading
    page.screenshot(path=str(SCREENSHOTS / "returnee-question-added.png"))
    # The answers given stay as they were; answering the new one goes on to the next part.
    assert page.locator("input[name=distress][value=often]").is_checked()
    question.locator("input[value=no]").check()
    page.click("button[value=next]")
    page.wait_for_url(re.compile(r"/heard$"))
    assert page.locator("#added").count() == 0
    context.close()
