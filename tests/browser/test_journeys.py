"""User journeys in a real browser: an administrator importing and managing cases, partner
staff limited to their own organisation, an analyst who never sees contact details."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOTS.mkdir(exist_ok=True)


def log_in(page, email):
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit] >> text=Log in")
    page.wait_for_url(re.compile(r"/(dashboard|worklist)/"))  # partner staff start on their work list, the others on the dashboard


def test_admin_imports_then_withdraws_consent(page, tmp_path):
    log_in(page, "admin@demo.example")
    csv_file = tmp_path / "returns.csv"
    csv_file.write_bytes(
        "\ufeffcode;destination_country;partner;local_partner;return_date;language;channel;phone;consent\r\n"
        "BR-TEST-1;Georgia;Caritas;caritas-ge;2026-10-01;ka;sms;+995 555 12 34 56;yes\r\n"
        "BR-TEST-2;GEO;iom;;2026-10-02;ru;phone;555 65 43 21;\"sms;phone\"\r\n".encode("utf-8"))
    page.click("nav >> text=Import")
    page.set_input_files("#file", str(csv_file))
    page.uncheck("#dry_run")
    page.click("button:text('Import')")
    # The import runs in the background; its page refreshes itself until the result is there.
    page.locator("main", has_text="rows read").wait_for(timeout=60000)
    assert "2 rows read: 2 created" in page.inner_text("main")

    page.click("nav >> text=Returnees")
    page.fill("#q", "BR-TEST-1")
    page.click("button:text('Search')")
    page.click("a:text('BR-TEST-1')")
    assert "Georgia" in page.inner_text("dl.facts")
    assert "+995555123456" not in page.content()
    page.click("button:text('Show contact details')")
    assert "+995555123456" in page.inner_text("main")

    page.check("#withdraw-confirm")
    page.click("button.danger:text('Withdraw consent')")
    assert "Consent withdrawn" in page.inner_text("main")
    assert page.locator("h1 .badge").inner_text() == "Consent withdrawn"

    page.goto("/admin/audit?object=BR-TEST-1")
    log = page.inner_text("table")
    assert "Contact details viewed" in log and "Consent withdrawn" in log  # labels, not the stored codes

    page.click("button:text('Log out')")
    page.wait_for_url(re.compile(r"/login"))
    assert "You are logged out." in page.inner_text("main")


def test_partner_sees_only_own_cases(page, live_server):
    from sqlalchemy import select

    from monitor.extensions import db
    from monitor.models import Organisation, Returnee

    with live_server["app"].app_context():  # the cases of Caritas Georgia, by the database
        own = set(db.session.scalars(select(Returnee.code).join(Organisation, Organisation.id == Returnee.local_partner_id)
                                     .where(Organisation.code == "caritas-ge")))
        others = set(db.session.scalars(select(Returnee.code))) - own
    assert own and others
    log_in(page, "caritas-ge@demo.example")
    assert page.url.endswith("/worklist/")
    tasks = page.locator("table.worklist tbody tr td:first-child a").all_inner_texts()
    assert tasks and set(tasks) <= own  # its own phone tasks only (Caritas and IOM share code prefixes)
    page.goto("/returnees/")
    codes = page.locator("tbody tr td:first-child a").all_inner_texts()
    assert codes and set(codes) <= own
    nav = page.inner_text("header nav")
    assert "Import" not in nav and "Users" not in nav
    response = page.goto("/admin/users")
    assert response.status == 403


def test_analyst_switches_to_french(page):
    log_in(page, "analyst@demo.example")
    page.select_option("#locale-switch", "fr")
    page.click("form.language button")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == "Tableau de bord"  # the analysts' home, now in French
    page.goto("/returnees/")
    assert page.locator("h1").inner_text() == "Personnes rentrées"
    page.locator("tbody tr td:first-child a").first.click()
    assert "Afficher les coordonnées" not in page.content()
    assert "Show contact details" not in page.content()


def test_pages_work_on_a_small_screen_without_javascript(chromium, live_server, tmp_path):
    context = chromium.new_context(base_url=live_server["url"], java_script_enabled=False,
                                   viewport={"width": 360, "height": 740})
    page = context.new_page()
    log_in(page, "iom@demo.example")  # a plain form post: no script needed
    # The work list, the partner's home page: usable on a phone's screen too.
    page.screenshot(path=str(SCREENSHOTS / "worklist-mobile.png"), full_page=True)
    assert page.locator("table.worklist tbody tr").count() > 0
    assert page.locator("main").bounding_box()["width"] <= 360
    assert page.locator("table.worklist").bounding_box()["width"] <= 360
    page.goto("/returnees/")
    page.screenshot(path=str(SCREENSHOTS / "returnees-mobile.png"), full_page=True)
    assert page.locator("table").is_visible()
    # Nothing wider than the phone's screen: no sideways scrolling.
    assert page.locator("main").bounding_box()["width"] <= 360
    assert page.locator("table").bounding_box()["width"] <= 360
    page.locator("tbody tr td:first-child a").first.click()
    assert page.locator("dl.facts").first.bounding_box()["width"] <= 360
    page.screenshot(path=str(SCREENSHOTS / "returnee-mobile.png"), full_page=True)
    context.close()


@pytest.fixture
def survey_link(live_server):
    from datetime import timedelta

    from sqlalchemy import select

    from monitor.extensions import db
    from monitor.models import FollowUp, Returnee
    from monitor.models.types import utcnow
    from tests.conftest import link_for

    def make(language):
        with live_server["app"].app_context():
            # one whose one-month check is not over (the demo has worked through the closed windows)
            closed = select(FollowUp.id).where(FollowUp.returnee_id == Returnee.id, FollowUp.wave == "m1",
                                               FollowUp.state == "closed")
            returnee = db.session.scalars(select(Returnee).where(Returnee.phone.is_not(None), ~closed.exists())
                                          .order_by(Returnee.id)).first()
            returnee.language = language
            token = link_for(returnee, "m1", utcnow() + timedelta(days=30))
            db.session.commit()
            return token
    return make


def test_returnee_answers_in_arabic_on_a_phone_without_javascript(chromium, live_server, survey_link):
    from surveys.translation import translator

    t = translator("ar")
    context = chromium.new_context(base_url=live_server["url"], java_script_enabled=False,
                                   viewport={"width": 360, "height": 740}, locale="ar")
    page = context.new_page()
    page.goto(f"/s/{survey_link('ar')}")
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.click(f"button:text('{t('Yes, I want to answer')}')")
    page.wait_for_url(re.compile(r"/housing$"))
    # Right to left: the radio buttons sit on the right of their labels.
    label = page.locator("label.choice").first
    radio = label.locator("input")
    assert radio.bounding_box()["x"] > label.bounding_box()["x"] + label.bounding_box()["width"] / 2
    page.screenshot(path=str(SCREENSHOTS / "returnee-ar-housing.png"), full_page=True)

    page.check("input[name=housing_situation][value=other]")
    page.click("button[value=next]")
    assert page.locator("input[name=housing_other]").is_visible()  # the dependent question came
    page.fill("input[name=housing_other]", "خيمة")
    page.click("button[value=next]")
    page.wait_for_url(re.compile(r"/income$"))
    assert t("Part %(number)s of %(total)s", number=2, total=9) in page.inner_text("main")
    page.go_back()  # the browser's own back button
    page.wait_for_url(re.compile(r"/housing(\?added=\w+)?(#added)?$"))
    assert page.locator("input[name=housing_other]").input_value() == "خيمة"
    assert page.locator("input[value=other]").is_checked()
    page.click("button[value=next]")
    page.wait_for_url(re.compile(r"/income$"))
    page.click("button[value=next]")  # work_status is required
    assert t("Please answer this question.") in page.inner_text("main")
    assert page.locator("main").bounding_box()["width"] <= 360
    page.screenshot(path=str(SCREENSHOTS / "returnee-ar-error.png"), full_page=True)
    context.close()


def test_a_partner_works_in_arabic_right_to_left(chromium, live_server):
    """An Iraqi partner's staff member chooses Arabic: the page runs right to left, mirrored (the
    brand on the right, the tools on the left, table text starting on the right), and the case
    codes, dates and numbers stay readable inside it."""
    context = chromium.new_context(base_url=live_server["url"], locale="ar-IQ", viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto("/login")
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.fill("#email", "caritas-ge@demo.example")
    page.fill("#password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/worklist/"))
    assert page.locator("h1").inner_text().startswith("قائمة العمل")
    brand, tools = page.locator(".brand").bounding_box(), page.locator("header .tools").bounding_box()
    assert brand["x"] > tools["x"]  # mirrored: the brand stands on the right
    cell = page.locator("table.worklist tbody td").first
    assert cell.evaluate("c => getComputedStyle(c).textAlign") in ("start", "right")
    assert cell.evaluate("c => getComputedStyle(c).direction") == "rtl"
    page.screenshot(path=str(SCREENSHOTS / "worklist-arabic.png"), full_page=False)
    context.close()
