"""The analyst's journey in a real browser: log in, narrow the dashboard with its filters, read a
chart beside its table, switch to the publication view where small cells become <5, download a
table as CSV; and on no page the analyst can open a returnee's name or phone number."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from monitor.extensions import db
from tests.browser.journey import log_in, STAFF_BUDGET, Journey, scan_for

pytestmark = pytest.mark.browser


@pytest.fixture
def identities(live_server):
    """Names and phone numbers of the caseload: what the analyst must never see. The demo has no
    names, so some cases get one here."""
    from monitor.models import Returnee

    with live_server["app"].app_context():
        returnees = db.session.scalars(select(Returnee).where(Returnee.phone.is_not(None)).order_by(Returnee.id)).all()
        for returnee, name in zip(returnees, ("Tamar Kapanadze", "Ahmad Rahimi", "Olena Shevchenko", "Nino Beridze")):
            if not returnee.name:
                returnee.name = name
        db.session.commit()
        secrets = set()
        for returnee in returnees:
            if returnee.name:
                secrets.add(returnee.name)
            secrets.add(returnee.phone)                # +995555123456
            secrets.add(returnee.phone[-9:])           # and its national part
        return sorted(secrets)


def test_an_analyst_reads_the_dashboard_and_publishes_a_table(chromium, live_server, identities):
    context = chromium.new_context(base_url=live_server["url"], locale="en-GB", accept_downloads=True,
                                   viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    journey = Journey(page, "analyst", STAFF_BUDGET)

    def visit(label):
        journey.see(label)
        scan_for(page, identities)

    page.goto("/login")
    visit("login")
    log_in(page, "analyst@demo.example", home=r"/dashboard/")  # the form is sent from the keyboard
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 5", timeout=30000)
    visit("dashboard")

    # The filters: the six-month wave in Georgia.
    page.select_option("#f-wave", "m6")
    page.select_option("#f-country", "GE")
    page.click("form.dashboard-filters button[type=submit]")
    page.wait_for_url(re.compile(r"country=GE"))
    page.wait_for_selector("#response .js-plotly-plot", timeout=30000)
    visit("dashboard Georgia six months")
    assert page.locator("#f-country").input_value() == "GE"

    # A chart and its table: the chart draws the table's own categories.
    section = page.locator("#response")
    first_column = section.locator("table.report-table tbody tr td:first-child").all_inner_texts()
    assert first_column
    chart_text = section.locator(".js-plotly-plot").first.inner_text()
    assert any(label.strip() and label.strip() in chart_text for label in first_column), (first_column, chart_text)

    # The publication switch: small counts become <5, in the table and in its CSV alike.
    cells_before = page.locator("#caseload table.report-table td.num").all_inner_texts()
    page.check("input[name=publication]")
    page.click("form.dashboard-filters button[type=submit]")
    page.wait_for_url(re.compile(r"publication=1"))
    visit("dashboard for publication")
    assert "For publication." in page.inner_text("main")
    cells = page.locator("table.report-table td").all_inner_texts()
    assert "<5" in cells, cells
    assert "<5" not in cells_before
    small = [c for c in cells_before if c.strip().isdigit() and 0 < int(c) < 5]
    assert small, "the Georgian six-month view should have small counts to suppress"

    with page.expect_download() as download:
        page.locator("#caseload a.download").click()
    path = download.value.path()
    rows = list(csv.reader(io.StringIO(open(path, encoding="utf-8-sig").read())))
    assert len(rows) > 1
    flat = [cell for row in rows[1:] for cell in row]
    assert "<5" in flat
    filename = download.value.suggested_filename
    assert filename.endswith(".csv") and not any(s in filename for s in identities)

    # Every other page the analyst can reach from the menu: none shows a name or a phone number.
    links = [href for href in page.locator("header nav a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
             if href and href.startswith("/")]
    assert links
    for href in links:
        page.goto(href)
        visit(f"menu {href}")
    page.goto("/dashboard/")
    page.click("a:text('Exports for R, Stata and SPSS')")
    visit("exports")
    page.click("header a:text('analyst@demo.example')")
    visit("account")
    page.goto("/returnees/")
    page.locator("tbody tr td:first-child a").first.click()
    visit("a case")
    assert page.locator("button:text('Show contact details')").count() == 0
    context.close()
