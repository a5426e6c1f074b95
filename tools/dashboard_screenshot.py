"""Take the README's screenshot of the dashboard (docs/dashboard.png) from demo data.

    .venv/bin/python tools/dashboard_screenshot.py [--size 1000]

A fresh SQLite database with `monitor demo --size N`, the app on a local port, Debian's chromium
through Playwright: an analyst asks how returnees to Georgia are doing six months after return,
Caritas against IOM, for publication.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from monitor.demo import DEMO_PASSWORD, load_demo  # noqa: E402
from tests.conftest import build_app  # noqa: E402

VIEW = "/dashboard/?wave=m6&country=GE&publication=1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--out", default=str(ROOT / "docs" / "dashboard.png"))
    args = parser.parse_args()
    instance = Path(tempfile.mkdtemp())
    app = build_app(f"sqlite:///{instance / 'demo.sqlite'}", instance)
    with app.app_context():
        upgrade()
        load_demo(size=args.size)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(base_url=f"http://127.0.0.1:{server.server_port}", locale="en-GB",
                                viewport={"width": 1500, "height": 1100})
        page.goto("/login")
        page.fill("#email", "analyst@demo.example")
        page.fill("#password", DEMO_PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/dashboard/")
        page.goto(VIEW)
        page.wait_for_selector("#outcomes .js-plotly-plot .main-svg")
        page.evaluate("document.getElementById('response').style.display = 'none'")
        page.evaluate("document.getElementById('caseload').style.display = 'none'")
        Path(args.out).parent.mkdir(exist_ok=True)
        page.screenshot(path=args.out, clip={"x": 0, "y": 0, "width": 1500, "height": 1100})
        browser.close()
    server.shutdown()
    print(args.out)


if __name__ == "__main__":
    main()
