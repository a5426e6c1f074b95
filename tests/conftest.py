"""Fixtures: the app on SQLite and on PostgreSQL, migrated from empty, and logged-in clients.

Every test that takes `app` (or a fixture built on it) runs once per database. Under CI=true a
PostgreSQL that cannot be reached fails the run instead of skipping it.
"""
from __future__ import annotations

import os
import re
import time
import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from hypothesis import HealthCheck, settings
from sqlalchemy import select

from monitor import create_app
from monitor.extensions import db, limiter

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "correct horse battery"
# Rows the migrations insert (the default follow-up plan, the first scoring version, the two
# reintegration partners): put back with their ids after each test.
REFERENCE_TABLES = ("waves", "contact_settings", "scoring_versions", "organisations")


# Property-based tests (tests/test_robust_*.py): a fixed number of examples drawn the same way on
# every run, so the suite stays fast and a failure repeats. Each example is a request or an import
# against a real database; the `app` fixture's database is shared by a test's examples.
settings.register_profile("suite", derandomize=True, max_examples=20, deadline=None, database=None,
                          print_blob=True, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
# HYPOTHESIS_PROFILE=thorough: many more examples, drawn at random, for hunting bugs by hand.
settings.register_profile("thorough", parent=settings.get_profile("suite"), derandomize=False, max_examples=400)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def postgres_server_url():
    url = os.environ.get("TEST_DATABASE_URL", PG_DEFAULT)
    url = url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        message = f"PostgreSQL at TEST_DATABASE_URL is not reachable: {exc.orig}"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def make_database(tmp_path_factory, request):
    """Return a factory of empty databases: ('sqlite' | 'postgresql') -> URL."""
    created = []

    def factory(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('db') / 'monitor.sqlite'}"
        server = request.getfixturevalue("postgres_server_url")
        name = f"monitor_test_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        created.append((server, name))
        return sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)

    yield factory
    for server, name in created:
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def build_app(database_url: str, instance_path, **config):
    env = {"MONITOR_ENV": "testing", "MONITOR_INSTANCE_PATH": str(instance_path)}
    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, **config}, env=env)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def migrated_app(request, make_database, tmp_path_factory):
    """One app per database, its schema made by the Alembic migrations from empty."""
    url = make_database(request.param)
    app = build_app(url, tmp_path_factory.mktemp("instance"))
    with app.app_context():
        upgrade()
        # Reference data the migrations insert: put back, with the same ids, after each test.
        app.config["REFERENCE_DATA"] = {
            table: [dict(row._mapping) for row in db.session.execute(db.metadata.tables[table].select())]
            for table in REFERENCE_TABLES}
    app.config["DB_BACKEND"] = request.param
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request, make_database, tmp_path):
    """An app on a brand-new, empty database: no migration run, no fixture data (an operator's
    first day: tests drive it through the documented commands)."""
    app = build_app(make_database(request.param), tmp_path)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(migrated_app):
    ctx = migrated_app.app_context()
    ctx.push()
    limiter.reset()
    yield migrated_app
    db.session.rollback()
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
        for table, rows in migrated_app.config["REFERENCE_DATA"].items():
            if rows:
                conn.execute(db.metadata.tables[table].insert(), rows)
                if conn.dialect.name == "postgresql" and "id" in db.metadata.tables[table].c:
                    # Explicit ids do not move a sequence: the next insert must come after them.
                    conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                         f"(SELECT max(id) FROM {table}))"))
    ctx.pop()


# -- data -------------------------------------------------------------------------------------

@pytest.fixture
def orgs(app):
    from monitor.models import Organisation

    # The two reintegration partners come with the migrations; only the local partners are added.
    caritas = db.session.scalar(select(Organisation).where(Organisation.code == "caritas"))
    iom = db.session.scalar(select(Organisation).where(Organisation.code == "iom"))
    caritas_ge = Organisation(code="caritas-ge", name="Caritas Georgia", kind="local", parent=caritas, country="GE")
    caritas_am = Organisation(code="caritas-am", name="Caritas Armenia", kind="local", parent=caritas, country="AM")
    iom_ge = Organisation(code="iom-ge", name="IOM Tbilisi", kind="local", parent=iom, country="GE")
    db.session.add_all([caritas_ge, caritas_am, iom_ge])
    db.session.commit()
    return {o.code: o for o in (caritas, iom, caritas_ge, caritas_am, iom_ge)}


@pytest.fixture
def users(app, orgs):
    from monitor.users.operations import create_user

    made = {
        "admin": create_user("admin@example.org", PASSWORD, "admin"),
        "analyst": create_user("analyst@example.org", PASSWORD, "analyst"),
        "caritas": create_user("staff@caritas.example", PASSWORD, "partner", orgs["caritas"]),
        "caritas-ge": create_user("staff@caritas-ge.example", PASSWORD, "partner", orgs["caritas-ge"]),
        "caritas-am": create_user("staff@caritas-am.example", PASSWORD, "partner", orgs["caritas-am"]),
        "iom": create_user("staff@iom.example", PASSWORD, "partner", orgs["iom"]),
        # Partner coordinators: Caritas's and IOM's programme staff.
        "coordinator": create_user("coordinator@caritas.example", PASSWORD, "coordinator", orgs["caritas"]),
        "coordinator-iom": create_user("coordinator@iom.example", PASSWORD, "coordinator", orgs["iom"]),
    }
    db.session.commit()
    return made


def make_returnee(org, code, local=None, consent=True, **values):
    """A case with consent for SMS and phone (`consent=False`: consent never recorded)."""
    from datetime import date

    from monitor.models import Returnee
    from monitor.returnees import operations

    returnee = Returnee(code=code)
    operations.apply_case_fields(returnee, {
        "destination_country": "GE", "partner_id": org.id, "local_partner_id": local.id if local else None,
        "return_date": date(2026, 9, 1), "language": "ka", "preferred_channel": "sms",
        "phone": "+995555123456", "name": "Nino Beridze", **values})
    if consent:
        operations.give_consent(returnee, ["sms", "phone"], "written")
    db.session.add(returnee)
    return returnee


@pytest.fixture
def returnees(app, orgs):
    """A case for each part of the partner tree."""
    made = {
        "caritas-ge": make_returnee(orgs["caritas"], "GE-C-001", orgs["caritas-ge"]),
        "caritas-am": make_returnee(orgs["caritas"], "AM-C-001", orgs["caritas-am"], destination_country="AM",
                                    phone="+37477123456", language="hy"),
        "caritas": make_returnee(orgs["caritas"], "GE-C-002"),
        "iom-ge": make_returnee(orgs["iom"], "GE-I-001", orgs["iom-ge"]),
    }
    db.session.commit()
    return made


# -- clients ----------------------------------------------------------------------------------

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


class Browser:
    """The Flask test client with a CSRF token, as a browser that loaded the page would have."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()

    def csrf_token(self) -> str:
        page = self.get("/login") if not self._logged_in() else self.get("/account")
        match = _TOKEN.search(page.get_data(as_text=True))
        assert match, f"no CSRF token on the page ({page.status_code} {page.location})"
        return match.group(1) or match.group(2)

    def _logged_in(self) -> bool:
        with self.client.session_transaction() as session:
            return "_user_id" in session

    # Each request gets an app context of its own, as in a server: the test's context (and its
    # `g`, where Flask-Login caches the user) must not leak into the request.
    def get(self, *args, **kwargs):
        with self.app.app_context():
            return self.client.get(*args, **kwargs)

    def post(self, url, data=None, **kwargs):
        data = dict(data or {})
        if "csrf_token" not in data:
            data["csrf_token"] = self.csrf_token()
        with self.app.app_context():
            return self.client.post(url, data=data, **kwargs)

    def login(self, email, password=PASSWORD):
        return self.post("/login", {"email": email, "password": password})


def finished_job_page(browser, location, tries=600):
    """The import job's page, followed as its refresh would until the job ends (at most a minute)."""
    for _try in range(tries):
        page = browser.get(location)
        if 'http-equiv="refresh"' not in page.get_data(as_text=True):
            return page
        time.sleep(0.1)
    raise AssertionError("the import job did not end")


@pytest.fixture
def server(app):
    """The app on a real threaded server on 127.0.0.1 (for presses at once from threads)."""
    from tests.pageweight import served

    with served(app) as base:
        yield base


@pytest.fixture
def browser_for(app):
    def factory(user=None):
        browser = Browser(app)
        if user is not None:
            response = browser.login(user.email)
            assert response.status_code == 302, response.get_data(as_text=True)
        return browser
    return factory


def make_follow_up(returnee, wave="m1", *, state="planned", opens=None, closes=None, channel=None):
    """A planned follow-up for a test that does not go through `plan` (window open from today,
    30 days long unless given)."""
    from datetime import date, datetime, time, timedelta, timezone

    from monitor.models import FollowUp

    opens = opens or date.today()
    follow_up = FollowUp(returnee=returnee, wave=wave, due_date=opens, window_opens=opens,
                         window_closes=closes or opens + timedelta(days=30), state=state, source="planned",
                         channel=channel or ("phone" if returnee.preferred_channel == "phone" else "sms"),
                         inclusion_probability=1.0,
                         next_action_at=datetime.combine(opens, time(0), tzinfo=timezone.utc))
    db.session.add(follow_up)
    db.session.flush()
    return follow_up


def link_for(returnee, wave="m1", expires=None):
    """A personal link to the returnee's follow-up for `wave` (made when missing), as an SMS
    would carry it; returns the token."""
    from datetime import timedelta

    from monitor.followups.links import create_link
    from monitor.followups.operations import follow_up_for
    from monitor.models.types import utcnow

    db.session.flush()
    if follow_up_for(returnee, wave) is None:
        make_follow_up(returnee, wave)
    return create_link(returnee, wave, expires or utcnow() + timedelta(days=30))
