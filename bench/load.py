"""Benchmark: the returnee's pages under load, through gunicorn and PostgreSQL, beside a bare
Flask endpoint served the same way.

Creates a throwaway PostgreSQL database (dropped at the end), migrates it and builds its own
returnees with personal links; starts the app (`wsgi:app`) and a bare Flask endpoint (one route
answering a few bytes) under the same gunicorn command (the README's deployment: sync workers,
`BENCH_WORKERS`, default 3), on 127.0.0.1 only, rate limits counted in Redis as in production.
A bounded asyncio client (aiohttp, `BENCH_CLIENTS` at once, default 16) then sends a fixed number
of requests in three phases and stops:

1. the bare endpoint (GET);
2. returnee page views: a questionnaire page of a link whose returnee has consented (GET);
3. full questionnaires: the link, the consent form, every page with its answers (CSRF token from
   the page, pages that come back with new questions sent again), the completion.

For each phase: requests, throughput, p50, p99, errors (anything but a 200 or a redirect), and the
throughput against the bare endpoint's. Then the database is checked: every questionnaire whose
completion the server acknowledged is stored once (one response, complete, its follow-up closed
as 1.1, every page's answers there, no answer twice) and no other response is complete.

Goals (issue 12): returnee page views at least 1/6 of the bare endpoint's throughput, p99 under
300 ms at 16 clients. BENCH_QUICK (the default) sends 1,500 bare requests, 1,500 page views and 40
questionnaires; BENCH_FULL=1 five times as many.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def bare_app():
    """The bare endpoint: Flask answering a few bytes, no database, no extensions."""
    from flask import Flask

    app = Flask("bare")

    @app.get("/")
    def hello():
        return "ok"

    return app


FULL = os.environ.get("BENCH_FULL") == "1"
SCALE = 5 if FULL else 1
BARE_REQUESTS = 1500 * SCALE
VIEWS = 1500 * SCALE
QUESTIONNAIRES = 40 * SCALE
VIEW_LINKS = 300
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))
PG = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
SHOWN = re.compile(r'name="shown" value="(\w+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(url: str, instance: str) -> tuple[list[str], list[str]]:
    """The caseload: links to read pages of (consent given, a response started) and links to
    answer in full. Returns (view tokens, questionnaire tokens)."""
    from datetime import timedelta

    from flask_migrate import upgrade

    from monitor.extensions import db
    from monitor.followups.links import resolve_link
    from monitor.followups.operations import follow_up_for
    from monitor.models import Organisation
    from monitor.models.types import utcnow
    from monitor.responses.operations import new_response
    from tests.conftest import build_app, link_for, make_returnee

    app = build_app(url, instance)
    with app.app_context():
        upgrade()
        caritas = db.session.scalar(db.select(Organisation).where(Organisation.code == "caritas"))
        view, answer = [], []
        for n in range(VIEW_LINKS + QUESTIONNAIRES):
            returnee = make_returnee(caritas, f"L-{n:06d}", language="ru", phone=f"+995555{n:06d}")
            token = link_for(returnee, "m1", utcnow() + timedelta(days=30))
            if n < VIEW_LINKS:  # consent given on the link, its response started
                resolve_link(token).consent_answered_at = utcnow()
                new_response(follow_up_for(returnee, "m1"), "sms-web", language="ru")
                view.append(token)
            else:
                answer.append(token)
            if n % 100 == 99:
                db.session.commit()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return view, answer


class Server:
    """One gunicorn, the deployment's command, on a free loopback port."""

    def __init__(self, target: str, env: dict, check: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(WORKERS), "--bind",
             f"127.0.0.1:{self.port}", "--timeout", "60", "--log-level", "warning", "--no-control-socket", target],
            cwd=ROOT, env=env)
        self.check = check

    def wait(self) -> None:
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + self.check, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"gunicorn did not answer on {self.base}{self.check}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Phase:
    def __init__(self, name: str):
        self.name, self.latencies, self.errors, self.seconds = name, [], 0, 0.0

    def line(self, bare: Phase | None) -> str:
        ordered = sorted(self.latencies)
        n = len(ordered)
        p50 = ordered[n // 2] * 1000 if n else 0
        p99 = ordered[min(n - 1, int(n * 0.99))] * 1000 if n else 0
        rate = n / self.seconds if self.seconds else 0
        ratio = f"{rate / (len(bare.latencies) / bare.seconds):.2f}" if bare else ""
        return f"{self.name:<34} {n:>9} {rate:>12.0f} {p50:>8.1f} {p99:>8.1f} {self.errors:>7} {ratio:>13}"


async def request(session, phase: Phase, method: str, url: str, data=None):
    start = time.perf_counter()
    try:
        async with session.request(method, url, data=data, allow_redirects=False) as answer:
            text = await answer.text()
            status, location = answer.status, answer.headers.get("Location")
    except Exception:  # noqa: BLE001 - a failed request is an error of the phase
        phase.latencies.append(time.perf_counter() - start)
        phase.errors += 1
        return None, None, ""
    phase.latencies.append(time.perf_counter() - start)
    if status not in (200, 302, 303):
        phase.errors += 1
    return status, location, text


async def bounded(jobs, clients: int) -> float:
    """Run the coroutines `clients` at a time; the seconds it took."""
    import asyncio

    queue = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker():
        while not queue.empty():
            await queue.get_nowait()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - start


def _form(token: str, shown: list[str], answers: dict) -> list[tuple[str, str]]:
    fields = [("csrf_token", token), ("action", "next")] + [("shown", code) for code in shown]
    for name, value in answers.items():
        fields += [(name, v) for v in value] if isinstance(value, list) else [(name, value)]
    return fields


async def questionnaire(base: str, link: str, phase: Phase, completed: list[str]) -> None:
    """One returnee, own cookies: the link, consent, every page, the completion."""
    import aiohttp

    from tests.test_respond import PAGES

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        status, _, page = await request(session, phase, "GET", f"{base}/s/{link}")
        found = TOKEN_FIELD.search(page or "")
        if status != 200 or not found:
            return
        status, location, _ = await request(session, phase, "POST", f"{base}/s/{link}/consent",
                                            data=[("csrf_token", found.group(1)), ("choice", "agree")])
        for _step in range(40):
            if status not in (302, 303) or not location:
                return
            url = base + location if location.startswith("/") else location
            path = urlsplit(url).path.rstrip("/")
            if path.endswith(f"/s/{link}"):  # back at the start: complete
                status, _, page = await request(session, phase, "GET", url)
                if status == 200:
                    completed.append(link)
                return
            module = path.rsplit("/", 1)[-1]  # the page's address may carry ?added=...#added
            status, _, page = await request(session, phase, "GET", url)
            found = TOKEN_FIELD.search(page or "")
            if status != 200 or not found:
                return
            status, location, _ = await request(session, phase, "POST", base + path,
                                                data=_form(found.group(1), SHOWN.findall(page), PAGES[module]))


async def drive(bare: Server, app: Server, views: list[str], answer: list[str]) -> tuple[list[Phase], list[str]]:
    import aiohttp

    phases = [Phase("bare Flask endpoint (GET)"), Phase("returnee page view (GET)"),
              Phase("full questionnaires (GET + POST)")]
    limits = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=limits) as session:
        # A few requests first, not counted: every worker has imported and connected.
        scratch = Phase("warm-up")
        await bounded([request(session, scratch, "GET", bare.base + "/") for _ in range(30)], CLIENTS)
        await bounded([request(session, scratch, "GET", f"{app.base}/s/{views[i]}/housing") for i in range(30)],
                      CLIENTS)
        phases[0].seconds = await bounded(
            [request(session, phases[0], "GET", bare.base + "/") for _ in range(BARE_REQUESTS)], CLIENTS)
        phases[1].seconds = await bounded(
            [request(session, phases[1], "GET", f"{app.base}/s/{views[i % len(views)]}/housing")
             for i in range(VIEWS)], CLIENTS)
    completed: list[str] = []
    phases[2].seconds = await bounded([questionnaire(app.base, link, phases[2], completed) for link in answer],
                                      CLIENTS)
    return phases, completed


def verify(url: str, instance: str, answered: list[str], completed: list[str]) -> list[str]:
    """Every questionnaire acknowledged as complete is stored once; nothing else is complete."""
    import sqlalchemy as sa

    from monitor.extensions import db
    from monitor.followups.links import token_hash
    from monitor.models import FollowUp, Response, ResponseAnswer, SurveyLink
    from tests.conftest import build_app
    from tests.test_respond import PAGES

    expected_items = {name.split("__")[0] for answers in PAGES.values() for name in answers}
    problems = []
    app = build_app(url, instance)
    with app.app_context():
        links = {token: db.session.scalar(sa.select(SurveyLink).where(SurveyLink.token_hash == token_hash(token)))
                 for token in answered}
        for token in completed:
            link = links[token]
            rows = db.session.execute(
                sa.select(Response, FollowUp).join(FollowUp, FollowUp.id == Response.follow_up_id)
                .where(FollowUp.returnee_id == link.returnee_id, FollowUp.wave == link.wave)).all()
            if len(rows) != 1:
                problems.append(f"{len(rows)} responses for one acknowledged questionnaire")
                continue
            response, follow_up = rows[0]
            if response.completed_at is None or follow_up.disposition != "1.1":
                problems.append(f"acknowledged but stored as {follow_up.disposition}, completed {response.completed_at}")
            items = set(db.session.scalars(sa.select(ResponseAnswer.item).where(ResponseAnswer.response_id == response.id)))
            if expected_items - items:
                problems.append(f"answers missing: {sorted(expected_items - items)}")
        twice = db.session.execute(
            sa.select(ResponseAnswer.response_id, ResponseAnswer.item, ResponseAnswer.position)
            .group_by(ResponseAnswer.response_id, ResponseAnswer.item, ResponseAnswer.position)
            .having(sa.func.count() > 1)).all()
        if twice:
            problems.append(f"{len(twice)} answers stored twice")
        complete = db.session.scalar(sa.select(sa.func.count()).select_from(Response)
                                     .where(Response.completed_at.is_not(None)))
        if complete != len(completed):
            problems.append(f"{complete} complete responses in the database, {len(completed)} acknowledged")
        db.session.remove()
        db.engine.dispose()
    return problems


def round_trip_ms(url: str) -> float:
    """What one statement costs on this machine at this moment, whatever it does: a returnee's
    page sends six (the pool's ping, BEGIN, three statements, ROLLBACK)."""
    import statistics

    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        times = []
        for _ in range(50):
            start = time.perf_counter()
            conn.exec_driver_sql("SELECT 1").scalar()
            times.append(time.perf_counter() - start)
    engine.dispose()
    return 1000 * statistics.median(times)


def main() -> None:
    import asyncio
    import logging

    import sqlalchemy as sa

    logging.disable(logging.INFO)  # the migrations' progress
    name = f"monitor_load_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG).set(database=name).render_as_string(hide_password=False)
    instance = tempfile.mkdtemp()
    servers = []
    try:
        # The secret key and the data key: generated into the instance folder by the first app
        # (the caseload's), read from there by gunicorn's.
        env = {**os.environ, "MONITOR_ENV": "development", "MONITOR_INSTANCE_PATH": instance, "DATABASE_URL": url,
               "SMS_BACKEND": "console", "RATELIMIT_STORAGE_URI": REDIS}
        for name_ in ("SECRET_KEY", "DATA_ENCRYPTION_KEY"):
            env.pop(name_, None)
        start = time.perf_counter()
        views, answer = build(url, instance)
        print(f"{len(views) + len(answer)} returnees with links built in {time.perf_counter() - start:.1f} s; "
              f"{WORKERS} gunicorn workers, {CLIENTS} clients, load average {os.getloadavg()[0]:.1f}", flush=True)
        print(f"PostgreSQL round trip (SELECT 1, median of 50): {round_trip_ms(url):.2f} ms", flush=True)
        bare = Server("bench.load:bare_app()", env, "/")
        app = Server("wsgi:app", env, "/health")
        servers = [bare, app]
        for server in servers:
            server.wait()
        phases, completed = asyncio.run(drive(bare, app, views, answer))
        for server in servers:
            server.stop()
        servers = []
        problems = verify(url, instance, answer, completed)
        print()
        print(f"{'requests':<34} {'count':>9} {'requests/s':>12} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
              f"{'ratio to bare':>13}")
        for phase in phases:
            print(phase.line(phases[0] if phase is not phases[0] else None))
        print(f"questionnaires: {len(answer)} started, {len(completed)} acknowledged as complete, "
              f"{len(completed) / phases[2].seconds:.1f} a second")
        print("stored exactly once: " + ("yes, every acknowledged questionnaire" if not problems and completed
                                         else "NO: " + "; ".join(problems[:5]) if problems else "nothing completed"))
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
        if problems or not completed:
            sys.exit(1)
    finally:
        for server in servers:
            server.stop()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
