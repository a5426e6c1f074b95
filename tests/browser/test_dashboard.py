"""The dashboard in a real browser: with JavaScript the charts render (plotly.js from the app
itself, under the 'self' Content-Security-Policy); without it the same page answers with its
tables; the filters and the publication switch are a plain GET form."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _log_in(page, email="analyst@demo.example"):
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit] >> text=Log in")
    page.wait_for_url(re.compile(r"/dashboard/"))  # the analysts' home


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_dashboard_with_and_without_javascript(chromium, live_server, javascript):
    context = chromium.new_context(base_url=live_server["url"], locale="en-GB", java_script_enabled=javascript,
                                   viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    _log_in(page)
    assert page.locator("#caseload table.report-table tbody tr").count() >= 3  # the numbers come first
    if javascript:
        page.wait_for_selector(".js-plotly-plot", timeout=30000)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 5", timeout=30000)
        assert page.locator(".js-plotly-plot .main-svg").count() >= 5
        assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    else:
        assert page.locator(".js-plotly-plot").count() == 0
    # the filters: a plain GET form, every view an address
    page.select_option("#f-wave", "m6")
    page.select_option("#f-country", "GE")
    page.check("input[name=publication]")
    page.click("form.dashboard-filters button[type=submit]")
    page.wait_for_url(re.compile(r"country=GE"))
    assert "wave=m6" in page.url and "publication=1" in page.url
    assert "For publication." in page.inner_text("main")
    if javascript:
        page.wait_for_selector("#outcomes .js-plotly-plot", timeout=30000)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"dashboard-{'js' if javascript else 'nojs'}.png"), full_page=True)
    context.close()
