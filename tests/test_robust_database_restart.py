"""The database stopped and started again while returnees answer: on a throwaway PostgreSQL
cluster this test starts itself (never the shared server), with a real threaded server in front.

While the database is away every page answers a clear "try again" (503 with Retry-After, in the
returnee's language), never a traceback; once it is back the app recovers by itself (the pool's
pre-ping), and every page the server acknowledged (a redirect) is stored exactly once.

initdb refuses to run as root: as root the cluster belongs to the `postgres` system user
(runuser). Without the PostgreSQL server binaries the test is skipped locally and fails under
CI=true, like the PostgreSQL half of the suite.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy import func, select

from monitor.extensions import db
from tests.conftest import _in_ci, build_app, link_for, make_returnee

PHONES = 6


class Cluster:
    """A PostgreSQL cluster in a temporary directory, on a free port of 127.0.0.1."""

    def __init__(self, bin_dir: str):
        self.bin_dir = bin_dir
        self.root = tempfile.mkdtemp(prefix="monitor-pg-")
        self.data = os.path.join(self.root, "data")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        command = [os.path.join(self.bin_dir, args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb and postgres refuse root
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{args[0]} failed: {done.stdout}\n{done.stderr}"

    def init(self) -> None:
        self._run("initdb", "-D", self.data, "-U", "monitor", "-A", "trust", "-E", "UTF8", "--locale=C",
                  "--no-sync")

    def start(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.root, "log"), "-w", "-t", "30",
                  "-o", f"-p {self.port} -h 127.0.0.1 -k {self.root} -F", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://monitor@127.0.0.1:{self.port}/{database}"

    def remove(self) -> None:
        subprocess.run([os.path.join(self.bin_dir, "pg_ctl"), "-D", self.data, "-m", "immediate", "stop"]
                       if os.geteuid() else ["runuser", "-u", "postgres", "--", os.path.join(self.bin_dir, "pg_ctl"),
                                             "-D", self.data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def cluster():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [shutil.which("initdb") or ""]
    if not found[-1]:
        message = "no PostgreSQL server binaries (initdb, pg_ctl) to start a throwaway cluster"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    made = Cluster(os.path.dirname(found[-1]))
    try:
        made.init()
        made.start()
        yield made
    finally:
        made.remove()


@pytest.fixture
def restart_app(cluster, tmp_path):
    admin = sa.create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text('CREATE DATABASE "monitor"'))
    admin.dispose()
    # The link's rate limit is not what is tested: the phones retry quickly while it is away.
    app = build_app(cluster.url("monitor"), tmp_path / "instance", SURVEY_LINK_RATE_LIMIT="100000 per minute",
                    LINK_GUESS_RATE_LIMIT="100000 per minute")
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Phone(threading.Thread):
    """A returnee answering every page; a page that is not acknowledged is sent again."""

    def __init__(self, base: str, token: str, seen: list, go_on: threading.Event, pause_after: int = 3):
        super().__init__(daemon=True)
        self.base, self.token, self.seen = base, token, seen
        # After `pause_after` pages the phone waits for `go_on`: every phone is half-way through
        # when the database stops, however fast or slow the machine.
        self.go_on, self.pause_after, self.paused = go_on, pause_after, threading.Event()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect)
        self.acknowledged: list[str] = []
        self.unexpected: list = []

    def _send(self, path: str, form: dict | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form, doseq=True).encode() if form is not None else None
        try:
            with self.opener.open(f"{self.base}/s/{self.token}{path}", data=data, timeout=30) as answer:
                status, body = answer.status, answer.read().decode()
        except urllib.error.HTTPError as answer:
            status, body = answer.code, answer.read().decode()
            retry_after = answer.headers.get("Retry-After")
            if status == 503:
                self.seen.append((status, body, retry_after))
        return status, body

    def _until_acknowledged(self, path: str, form: dict | None, expected: int) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, body = self._send(path, form)
            if status == expected:
                return body
            if status != 503:
                self.unexpected.append((path, status, body[:300]))
                return body
            time.sleep(0.05)
        self.unexpected.append((path, "never acknowledged"))
        return ""

    def run(self):
        from tests.test_respond import PAGES

        page = self._until_acknowledged("", None, 200)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        self._until_acknowledged("/consent", {"csrf_token": csrf, "choice": "agree"}, 302)
        for module, answers in PAGES.items():
            form = {"csrf_token": csrf, "action": "next", "shown": list(answers), **answers}
            self._until_acknowledged(f"/{module}", form, 302)
            if not self.unexpected:
                self.acknowledged.append(module)
            if len(self.acknowledged) == self.pause_after:
                self.paused.set()
                self.go_on.wait(timeout=60)
        self.paused.set()


def test_the_database_stops_and_starts_while_returnees_answer(restart_app, cluster):
    from monitor.models import FollowUp, FollowUpEvent, Organisation, Response, ResponseAnswer
    from monitor.responses.operations import stored_answers
    from tests.pageweight import served
    from tests.test_respond import PAGES

    app = restart_app
    with app.app_context():
        caritas = db.session.scalar(select(Organisation).where(Organisation.code == "caritas"))
        tokens = [link_for(make_returnee(caritas, f"GE-DB-{n:03d}", language="en")) for n in range(PHONES)]
        db.session.commit()

    seen: list = []
    go_on = threading.Event()
    with served(app) as base:
        phones = [Phone(base, token, seen, go_on) for token in tokens]
        for phone in phones:
            phone.start()
        for phone in phones:  # each phone has sent its first pages
            assert phone.paused.wait(timeout=60)
        cluster.stop()
        go_on.set()  # the phones go on with the database away
        outage = time.monotonic()
        while len(seen) < PHONES * 3 and time.monotonic() < outage + 10:
            time.sleep(0.05)
        during = list(seen)
        # /health says so too, meanwhile
        with app.app_context():
            health = app.test_client().get("/health")
        cluster.start()
        for phone in phones:
            phone.join(timeout=90)

    assert health.status_code == 503
    assert all(not phone.is_alive() for phone in phones)
    assert [phone.unexpected for phone in phones] == [[]] * PHONES  # no 500, nothing but 200/302/503
    assert len(during) >= PHONES, "the phones never met the database away"
    for status, body, retry_after in during:
        assert status == 503 and retry_after and retry_after.isdigit()
        assert "Please try again in a few minutes" in body and "Traceback" not in body
    assert all(phone.acknowledged == list(PAGES) for phone in phones)  # recovered: every phone finished

    with app.app_context():
        responses = db.session.scalars(select(Response)).all()
        assert len(responses) == PHONES
        for response in responses:
            assert response.completed_at is not None
            answers = stored_answers(response)
            for module, sent in PAGES.items():
                for code, value in sent.items():
                    if code in answers:
                        rows = db.session.scalar(select(func.count()).select_from(ResponseAnswer).where(
                            ResponseAnswer.response_id == response.id, ResponseAnswer.item == code))
                        assert rows == (len(value) if isinstance(value, list) else 1), (code, rows)
            assert answers["housing_situation"] == "rented" and answers["income_sources"] == ["work", "family"]
        assert {f.disposition for f in db.session.scalars(select(FollowUp))} == {"1.1"}
        closes = db.session.scalar(select(func.count()).select_from(FollowUpEvent)
                                   .where(FollowUpEvent.transition == "close"))
        assert closes == PHONES


def _database_away(*args, **kwargs):
    raise sa.exc.OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))


@pytest.mark.parametrize("endpoint, url, language, expected", [
    ("respond.start", "/s/abc", "ka", "სცადეთ ხელახლა რამდენიმე წუთში"),
    ("respond.module", "/s/abc/housing", "fa-IR", "چند دقیقه بعد دوباره کوشش کنید"),
    ("returnees.index", "/returnees/", "fr", "Momentanément indisponible"),
    ("api.caseload", "/api/v1/reports/caseload", "en", '"code":503'),
])
def test_a_database_out_of_reach_is_a_503_in_the_reader_s_language(app, users, browser_for, monkeypatch,
                                                                   endpoint, url, language, expected):
    browser = browser_for(users["admin"])
    monkeypatch.setitem(app.view_functions, endpoint, _database_away)
    with app.app_context():
        response = browser.client.get(url, headers={"Accept-Language": language})
    body = response.get_data(as_text=True).replace(" ", "")
    assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
    assert expected.replace(" ", "") in body and "Traceback" not in body
    assert response.headers["Cache-Control"] == "no-store"


def test_a_statement_the_database_refuses_is_still_a_500_not_a_503(app, users, browser_for, monkeypatch):
    def refused(*args, **kwargs):
        raise sa.exc.ProgrammingError("SELECT nothing", {}, Exception("syntax error"))

    monkeypatch.setitem(app.view_functions, "returnees.index", refused)
    with app.app_context():
        response = browser_for(users["admin"]).client.get("/returnees/")
    assert response.status_code == 500


def test_a_webhook_while_the_database_is_away_is_a_bare_503(app, monkeypatch):
    from tests.test_sms_twilio import PUBLIC, TOKEN, signed_post

    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", PUBLIC)
    monkeypatch.setattr("monitor.sms.webhooks.retrying_stale", _database_away)
    response = signed_post(app, "/sms/twilio/inbound", {"MessageSid": "SM1", "From": "+995555123456", "Body": "STOP"})
    assert response.status_code == 503 and response.get_data() == b""
