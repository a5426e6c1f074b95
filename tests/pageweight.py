"""Measuring what a returnee's phone downloads for each questionnaire page: the HTML and the
stylesheet, gzip-compressed (as the server sends them). Used by the tests and by `make bench`."""
from __future__ import annotations

import gzip
import re
from datetime import timedelta

from monitor.extensions import db
from monitor.models.types import utcnow
from surveys import registry

BUDGET = 30 * 1024
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def page_weights(app, returnee) -> dict[str, int]:
    """{page: compressed bytes of HTML + CSS} for the consent page and every module page."""
    from tests.conftest import link_for

    token = link_for(returnee, "m1", utcnow() + timedelta(days=1))
    db.session.commit()
    client = app.test_client()
    with app.app_context():
        css = len(gzip.compress(client.get("/static/css/respond.css").data))
        consent = client.get(f"/s/{token}")
        weights = {"consent": len(gzip.compress(consent.data)) + css}
        csrf = _TOKEN.search(consent.get_data(as_text=True)).group(1)
        client.post(f"/s/{token}/consent", data={"csrf_token": csrf, "choice": "agree"})
        for module in registry.current().modules:
            page = client.get(f"/s/{token}/{module.code}")
            assert page.status_code == 200, (module.code, page.status_code)
            weights[module.code] = len(gzip.compress(page.data)) + css
    return weights
