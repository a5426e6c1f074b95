"""The administrator's first day in a real browser, on a fresh database made with the documented
commands only (`monitor db upgrade`, `monitor create-user`): a local partner created, a user for
it, a CSV of returnees imported (one bad row, fixed, then imported again), the plan adjusted, and
the first invitations in the outbox once the scheduler has run. Every page checked for weight
and keyboard reach (tests/browser/journey.py)."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

import pytest

from monitor.extensions import db
from tests.browser.journey import log_in, STAFF_BUDGET, Journey
from tests.conftest import build_app
from tests.pageweight import served
from tests.test_organisations_cli import invoke

pytestmark = pytest.mark.browser

PASSWORD = "a first day, quite long enough"
HEADER = "code;destination_country;partner;local_partner;return_date;language;channel;phone;consent"


@pytest.fixture
def first_day(tmp_path):
    """An empty SQLite database, migrated and given its first administrator from the command
    line, and a real server on it."""
    app = build_app(f"sqlite:///{tmp_path / 'first-day.sqlite'}", tmp_path)
    assert invoke(app, "db", "upgrade").exit_code == 0
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["create-user", "admin@fedasil.example", "--role", "admin",
                                                    "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    with served(app) as base:
        yield {"url": base, "app": app}
    with app.app_context():
        db.engine.dispose()


def _import(page, journey, path):
    page.goto("/returnees/import")
    page.set_input_files("#file", str(path))
    page.uncheck("#dry_run")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/returnees/import/\d+$"))  # the import's own page, which follows it
    journey.see("import running", keyboard=False)
    page.locator("main", has_text=re.compile(r"rows read|Nothing was written")).wait_for(timeout=60000)
    return page.inner_text("main")


def test_an_administrators_first_day(chromium, first_day, tmp_path):
    context = chromium.new_context(base_url=first_day["url"], locale="en-GB", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    journey = Journey(page, "admin-first-day", STAFF_BUDGET)
    page.goto("/")
    page.wait_for_url(re.compile(r"/login"))
    journey.see("login")
    log_in(page, "admin@fedasil.example", PASSWORD)
    journey.see("home on an empty database")
    assert "No figures yet" in page.inner_text("main")  # and what comes first, as links
    assert page.locator("main ol.steps a").count() == 5

    # The local partner in Georgia, under Caritas (which the migrations created).
    page.click("header nav >> text=Organisations")
    journey.see("organisations")
    page.click("main a[href$='/organisations/new']")
    page.fill("#code", "caritas-ge")
    page.fill("#name", "Caritas Georgia")
    page.select_option("#kind", "local")
    page.select_option("#parent_id", label="Caritas International")
    page.select_option("#country", "GE")
    page.fill("#contact_phone", "+995 32 200 00 00")
    journey.see("new local partner")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/organisations$"))
    assert "Caritas Georgia" in page.inner_text("main")

    # Its first staff member.
    page.click("header nav >> text=Users")
    page.click("main a[href$='/users/new']")
    page.fill("#email", "nino@caritas.example")
    page.select_option("#role", "partner")
    page.select_option("#organisation_id", label="Caritas Georgia")
    page.fill("#password", "tbilisi staff password 2026")
    journey.see("new user")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/users$"))
    assert "nino@caritas.example" in page.inner_text("main")
    journey.see("users")

    # The returnees: one row names a country that does not exist; nothing is written until fixed.
    returned = (date.today() - timedelta(days=31)).isoformat()
    rows = [f"GE-FD-{n:03d};Georgia;caritas;caritas-ge;{returned};ka;sms;+995 555 10 20 {n:02d};yes" for n in range(1, 6)]
    rows[2] = rows[2].replace(";Georgia;", ";Gondor;")
    csv_file = tmp_path / "returns.csv"
    csv_file.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    result = _import(page, journey, csv_file)
    journey.see("import with a bad row")
    assert "Nothing was written" in result and re.search(r"[Ll]ine 4\b.*Gondor", result), result
    rows[2] = rows[2].replace(";Gondor;", ";Georgia;")
    csv_file.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    result = _import(page, journey, csv_file)
    assert "5 rows read: 5 created" in result, result
    journey.see("import fixed")

    # The plan: reminders after 3 and 7 days, sending until 20:00 local time.
    page.click("header nav >> text=Plan")
    journey.see("plan")
    page.fill("input[name='settings-reminder_days']", "3,7")
    page.fill("input[name='settings-quiet_end']", "20:00")
    page.click("main form button[type=submit]")
    assert "Saved." in page.inner_text("main"), page.locator(".error, .flash").all_inner_texts()
    journey.see("plan saved")

    # The scheduler's first run (the same functions, at noon in Tbilisi): the invitations are out.
    assert invoke(first_day["app"], "plan").exit_code == 0
    noon = datetime.combine(date.today(), time(8, 0), tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M")
    result = invoke(first_day["app"], "dispatch", "--now", noon)
    assert result.exit_code == 0, result.output
    page.click("header nav >> text=Outbox")
    journey.see("outbox")
    outbox = page.inner_text("main table")
    assert all(f"GE-FD-{n:03d}" in outbox for n in range(1, 6)), outbox
    assert outbox.count("Invitation") >= 5
    context.close()
