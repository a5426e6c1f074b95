"""A real server on 127.0.0.1 and Debian's chromium driven by Playwright."""
from __future__ import annotations

import os
import shutil
import threading

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from monitor.demo import load_demo
from monitor.extensions import db
from tests.conftest import build_app

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    instance = tmp_path_factory.mktemp("live")
    app = build_app(f"sqlite:///{instance / 'live.sqlite'}", instance)
    with app.app_context():
        upgrade()
        load_demo(size=60)
        # The scheduler's first hour: follow-ups planned, phone-only returnees on the work list.
        from datetime import date, datetime, timezone

        from scheduler.dispatch import dispatch
        from scheduler.planning import plan

        plan(date.today())
        dispatch(datetime.now(timezone.utc))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "app": app}
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        message = f"chromium not found at {CHROMIUM} (make test installs it)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(base_url=live_server["url"], locale="en-GB")
    page = context.new_page()
    yield page
    context.close()
