"""Rate limits that count what they should: answering per link (the returnees behind one
carrier address are not throttled together), guessing per address (only failed lookups), the
proxy's X-Forwarded-For believed only with PROXY_FIX, and counters shared by every worker
through Redis."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from monitor.extensions import db
from tests.conftest import link_for, make_returnee

CARRIER = "198.51.100.20"  # one address for many phones


def _get(app, path, address=CARRIER, headers=None):
    with app.app_context():
        return app.test_client().get(path, environ_base={"REMOTE_ADDR": address}, headers=headers or {})


def test_answering_is_limited_per_link_not_per_address(app, orgs, monkeypatch):
    monkeypatch.setitem(app.config, "SURVEY_LINK_RATE_LIMIT", "5 per minute")
    tokens = []
    for n in range(3):
        tokens.append(link_for(make_returnee(orgs["caritas"], f"GE-L-00{n}", orgs["caritas-ge"])))
    db.session.commit()
    # Three returnees behind one address each get their five pages a minute.
    for token in tokens:
        assert [_get(app, f"/s/{token}").status_code for _ in range(5)] == [200] * 5
    # The sixth of one link waits; the others are not slowed by it.
    assert _get(app, f"/s/{tokens[0]}").status_code == 429
    monkeypatch.setitem(app.config, "SURVEY_LINK_RATE_LIMIT", "6 per minute")
    assert _get(app, f"/s/{tokens[1]}").status_code == 200


def test_guessing_links_is_limited_per_address_and_only_failures_count(app, orgs, monkeypatch):
    monkeypatch.setitem(app.config, "LINK_GUESS_RATE_LIMIT", "3 per minute")
    token = link_for(make_returnee(orgs["caritas"], "GE-L-010", orgs["caritas-ge"]))
    db.session.commit()
    for _ in range(10):  # a real link's pages never count as guesses
        assert _get(app, f"/s/{token}").status_code == 200
    statuses = [_get(app, f"/s/not-a-link-{n}").status_code for n in range(4)]
    assert statuses == [404, 404, 404, 429]
    # Another address (another carrier) is not affected.
    assert _get(app, "/s/not-a-link-x", address="203.0.113.5").status_code == 404


def test_x_forwarded_for_is_believed_only_behind_a_configured_proxy(app, orgs, monkeypatch):
    monkeypatch.setitem(app.config, "LINK_GUESS_RATE_LIMIT", "2 per minute")
    assert not app.config["PROXY_FIX"]
    statuses = [_get(app, f"/s/guess-{n}", headers={"X-Forwarded-For": f"192.0.2.{n}"}).status_code
                for n in range(3)]
    assert statuses == [404, 404, 429]  # a forged header does not buy new addresses


def _redis_is_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


_WORKER = """
import sys
from tests.conftest import PASSWORD, Browser, build_app
url, instance, prefix = sys.argv[1:4]
app = build_app(url, instance, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379", RATELIMIT_KEY_PREFIX=prefix,
                LOGIN_RATE_LIMIT="3 per minute")
browser = Browser(app)
token = browser.csrf_token()
with app.app_context():
    print(browser.client.post("/login", data={"email": "nobody@example.org", "password": PASSWORD,
                                              "csrf_token": token}).status_code)
"""


def _login_in_another_worker(url, instance, prefix) -> int:
    """A POST /login from a separate process: another gunicorn worker, with its own memory."""
    result = subprocess.run([sys.executable, "-c", _WORKER, url, str(instance), prefix], capture_output=True,
                            text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr[-2000:]
    return int(result.stdout.strip().splitlines()[-1])


def test_limits_are_shared_by_every_worker_through_redis(migrated_app, tmp_path):
    if not _redis_is_up():
        message = "Redis at 127.0.0.1:6379 is not reachable"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    url = migrated_app.config["SQLALCHEMY_DATABASE_URI"]
    prefix = f"monitor-test-{uuid.uuid4().hex[:8]}"  # runs side by side never share counters
    # Three failed logins in three worker processes, then a fourth in a fourth: refused, because
    # the counter is in Redis (with in-memory limits each worker would allow three of its own).
    statuses = [_login_in_another_worker(url, tmp_path / f"w{n}", prefix) for n in range(4)]
    assert statuses == [200, 200, 200, 429]
