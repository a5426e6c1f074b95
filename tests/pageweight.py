"""Measuring what a phone downloads: bytes as the server actually sends them over HTTP
(compressed by the app for a browser that accepts gzip), the page and its stylesheet. Used by
the tests and by `make bench`."""
from __future__ import annotations

import re
import threading
import urllib.parse
import urllib.request
from contextlib import contextmanager
from datetime import timedelta
from http.cookiejar import CookieJar

from werkzeug.serving import make_server

from monitor.extensions import db
from monitor.models.types import utcnow
from surveys import registry

BUDGET = 30 * 1024
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@contextmanager
def served(app):
    """The app on a real threaded server on 127.0.0.1: its base URL."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()


class Wire:
    """A browser that accepts gzip, keeps its cookies, and counts the bytes each answer carried
    (the body as sent, before any decompression)."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect)

    def get(self, path: str) -> tuple[int, bytes, dict]:
        request = urllib.request.Request(self.base + path, headers={"Accept-Encoding": "gzip"})
        return self._open(request)

    def post(self, path: str, form: dict) -> tuple[int, bytes, dict]:
        body = urllib.parse.urlencode(form, doseq=True).encode()
        return self._open(urllib.request.Request(self.base + path, data=body, headers={"Accept-Encoding": "gzip"}))

    def _open(self, request) -> tuple[int, bytes, dict]:
        try:
            with self.opener.open(request) as answer:
                return answer.status, answer.read(), dict(answer.headers)
        except urllib.error.HTTPError as answer:
            return answer.code, answer.read(), dict(answer.headers)

    def text(self, path: str) -> str:
        import gzip

        _status, body, headers = self.get(path)
        return gzip.decompress(body).decode() if headers.get("Content-Encoding") == "gzip" else body.decode()

    def weight(self, path: str) -> int:
        """Bytes of the page and of its stylesheet, as sent."""
        status, body, _headers = self.get(path)
        assert status == 200, (path, status)
        stylesheet = _STYLESHEET.search(self.text(path)).group(1).replace("&amp;", "&")
        return len(body) + len(self.get(stylesheet)[1])

    def login(self, email: str, password: str) -> None:
        token = _TOKEN.search(self.text("/login")).group(1)
        status, _body, _headers = self.post("/login", {"csrf_token": token, "email": email, "password": password})
        assert status == 302, status


def page_weights(app, returnee) -> dict[str, int]:
    """{page: bytes sent for its HTML + CSS} for the consent page and every module page."""
    from tests.conftest import link_for

    token = link_for(returnee, "m1", utcnow() + timedelta(days=1))
    db.session.commit()
    with served(app) as base:
        phone = Wire(base)
        weights = {"consent": phone.weight(f"/s/{token}")}
        csrf = _TOKEN.search(phone.text(f"/s/{token}")).group(1)
        phone.post(f"/s/{token}/consent", {"csrf_token": csrf, "choice": "agree"})
        for module in registry.current().modules:
            weights[module.code] = phone.weight(f"/s/{token}/{module.code}")
    return weights
