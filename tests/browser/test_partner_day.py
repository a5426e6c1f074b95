"""A partner's working day from the work list alone, in a real browser: calls that did not get
through, a call-back at the returnee's local time, an interview that stopped with a red flag,
the need it opened closed with what was done, a text read, and the list taken offline."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from monitor.demo import DEMO_PASSWORD
from monitor.extensions import db

pytestmark = pytest.mark.browser


def _counts(page) -> dict[str, int]:
    text = page.inner_text("main ul")
    return {label.strip(): int(number) for label, number in re.findall(r"([^\n:]+):\s*(\d+)", text)}


def _row_of(page, code):
    return page.locator("table.worklist tbody tr", has=page.locator(f"a:text-is('{code}')"))


def test_a_partner_works_through_a_day_from_the_list(chromium, live_server):
    from monitor.followups.operations import apply_transition
    from monitor.models import FollowUp, InboundMessage, Organisation, Returnee
    from monitor.models.types import utcnow

    app = live_server["app"]
    with app.app_context():
        caritas = db.session.scalar(select(Organisation).where(Organisation.code == "caritas"))
        # The SMS follow-ups nobody answered become phone tasks, as the scheduler does at the
        # last reminder: a morning's list of at least three calls.
        for follow_up in db.session.scalars(
                select(FollowUp).join(Returnee, Returnee.id == FollowUp.returnee_id)
                .where(FollowUp.state.in_(("invited", "reminded")), Returnee.partner_id == caritas.id,
                       Returnee.consent_phone).order_by(FollowUp.id).limit(3)):
            apply_transition(follow_up, "to_phone", actor="scheduler")
        db.session.commit()
        tasks = db.session.execute(
            select(Returnee.code, FollowUp.wave).join(FollowUp, FollowUp.returnee_id == Returnee.id)
            .where(FollowUp.state == "phone_task", Returnee.partner_id == caritas.id, FollowUp.callback_at.is_(None))
            .order_by(FollowUp.window_closes, FollowUp.id)).all()
        assert len(tasks) >= 3, tasks
        texter = db.session.scalar(select(Returnee).where(Returnee.partner_id == caritas.id).order_by(Returnee.id))
        db.session.add(InboundMessage(provider_id="SM-day-1", returnee_id=texter.id, from_lookup="x" * 64,
                                      body="Please call me after 5", kind="other", received_at=utcnow()))
        db.session.commit()

    context = chromium.new_context(base_url=live_server["url"], locale="en-GB", accept_downloads=True)
    page = context.new_page()
    page.goto("/login")
    page.fill("#email", "caritas@demo.example")
    page.fill("#password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/worklist/"))
    before = _counts(page)

    # 1. No answer: the task leaves "to call" until its retry delay has passed.
    first, second, third = (code for code, _wave in tasks[:3])
    row = _row_of(page, first)
    row.locator("select[name=outcome]").select_option("no_answer")
    row.locator("button", has_text="Record").click()
    page.wait_for_load_state()
    after = _counts(page)
    assert after["To call"] == before["To call"] - 1 and after["Later"] == before.get("Later", 0) + 1

    # 2. Call back tomorrow at 10:00, the returnee's time: shown as such.
    row = _row_of(page, second)
    row.locator("select[name=outcome]").select_option("call_back")
    row.locator("input[name=callback_day]").fill((date.today() + timedelta(days=1)).isoformat())
    row.locator("input[name=callback_time]").fill("10:00")
    row.locator("button", has_text="Record").click()
    page.wait_for_load_state()
    page.goto("/worklist/?status=later")
    assert re.search(r"10:00(\u202fAM)?, local time", _row_of(page, second).inner_text())

    # 3. An interview by home visit that stops after the housing questions: kept as a break-off,
    #    and its red flag ("homeless or in a shelter") becomes a need on the list.
    page.goto("/worklist/")
    _row_of(page, third).locator("a", has_text="Interview").click()
    page.select_option("#mode", "visit")
    page.check("input[name=housing_situation][value=shelter]")
    page.click("button[value=stopped]")
    page.wait_for_url(re.compile(r"/returnees/"))
    assert "Homeless or in a shelter" in page.inner_text("main")

    # 4. The need is closed from the list, with what was done; never without.
    page.goto("/worklist/?status=needs_attention")
    need = page.locator("table.needs tbody tr", has=page.locator(f"a:text-is('{third}')"))
    need.locator("select[name=action]").select_option("visited")
    need.locator("input[name=note], textarea[name=note]").first.fill("Found a room with the family")
    need.locator("button", has_text="Close").click()
    page.wait_for_load_state()
    assert page.locator("table.needs tbody tr", has=page.locator(f"a:text-is('{third}')")).count() == 0

    # 5. The returnee's text is read and marked handled.
    page.goto("/worklist/")
    text_row = page.locator("tr", has_text="Please call me after 5")
    text_row.locator("button", has_text="Handled").click()
    page.wait_for_load_state()
    assert "Please call me after 5" not in page.inner_text("main")

    # 6. The line goes down: the list goes offline as a zip for KoboCollect.
    with page.expect_download() as download:
        page.click("text=Download for KoboCollect / ODK Collect")
    name = download.value.suggested_filename
    assert re.fullmatch(r"worklist-caritas-\d{4}-\d{2}-\d{2}\.zip", name)
    with zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read())) as archive:
        assert {"worklist.xlsx", "cases.csv"} <= set(archive.namelist())
        assert second in archive.read("cases.csv").decode()  # still to do: the call-back
    context.close()

    with app.app_context():
        from monitor.models import AttentionItem, ContactAttempt

        assert db.session.scalar(select(func.count()).select_from(ContactAttempt)) >= 2
        from monitor.models import Response

        # the need of the interview that stopped (other journeys on this server close needs too)
        closed = db.session.scalars(
            select(AttentionItem).join(Response, Response.id == AttentionItem.response_id)
            .join(FollowUp, FollowUp.id == Response.follow_up_id).join(Returnee, Returnee.id == FollowUp.returnee_id)
            .where(AttentionItem.closed_at.is_not(None), Returnee.code == third)).all()
        assert [item.action for item in closed] == ["visited"]
        # the wave of the task (the demo's earlier waves of the same returnee are closed too)
        stopped = db.session.scalar(select(FollowUp).join(Returnee).where(Returnee.code == third,
                                                                           FollowUp.wave == tasks[2][1],
                                                                           FollowUp.state == "closed"))
        assert stopped.disposition == "2.12"
