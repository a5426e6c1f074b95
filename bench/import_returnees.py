"""Benchmark: importing returnees from CSV, and the returnee list, on SQLite and PostgreSQL.

Builds its own data: a CSV of ROWS returnees (env BENCH_IMPORT_ROWS, default 20,000), imports it
into an empty database, imports it again (every row unchanged), then times the first page of the
returnee list with its count. Prints a table with the time and the number of SQL statements.
"""
from __future__ import annotations

import io
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.extensions import db  # noqa: E402
from monitor.models import Organisation  # noqa: E402

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "20000"))
PG = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def build_csv(rows: int) -> bytes:
    rng = random.Random(1)
    out = io.StringIO()
    out.write("code,destination_country,partner,local_partner,return_date,language,channel,phone,consent,"
              "sex,birth_year,adults,children,vulnerabilities\n")
    for n in range(rows):
        out.write(f"B-{n:07d},GE,caritas,caritas-ge,2026-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d},ka,sms,"
                  f"+995555{rng.randint(100000, 999999)},yes,{rng.choice('mfx')},{rng.randint(1950, 2005)},"
                  f"{rng.randint(1, 3)},{rng.randint(0, 4)},{rng.choice(['', 'medical', 'medical;family_with_children'])}\n")
    return out.getvalue().encode()


class StatementCounter:
    def __init__(self, engine):
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *args):
        self.count += 1


def database(backend: str):
    if backend == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite", None
    name = f"monitor_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return sa.engine.make_url(PG).set(database=name).render_as_string(hide_password=False), (admin, name)


def run(backend: str, data: bytes) -> list[tuple]:
    from monitor.returnees.importing import import_returnees
    from tests.conftest import build_app  # the same app set-up as the tests

    url, cleanup = database(backend)
    app = build_app(url, tempfile.mkdtemp())
    results = []
    try:
        with app.app_context():
            upgrade()
            caritas = db.session.scalar(sa.select(Organisation).where(Organisation.code == "caritas"))  # the migration's
            db.session.add_all([Organisation(code="caritas-ge", name="Caritas Georgia", kind="local",
                                                      parent=caritas, country="GE")])
            db.session.commit()
            counter = StatementCounter(db.engine)
            for label in ("first import", "re-import (unchanged)"):
                counter.count = 0
                start = time.perf_counter()
                report = import_returnees(data, actor="bench")
                elapsed = time.perf_counter() - start
                assert report.written and not report.errors, report.errors[:3]
                results.append((backend, label, ROWS, elapsed, ROWS / elapsed, counter.count))
            from monitor.users.operations import create_user
            create_user("bench@example.org", "bench password long", "admin")
            db.session.commit()
            app.config["WTF_CSRF_ENABLED"] = False
            client = app.test_client()
            login = client.post("/login", data={"email": "bench@example.org", "password": "bench password long"})
            assert login.status_code == 302, login.status_code
            counter.count = 0
            start = time.perf_counter()
            response = client.get("/returnees/?status=contactable&q=B-00")
            elapsed = time.perf_counter() - start
            assert response.status_code == 200, response.status_code
            results.append((backend, "returnee list page", ROWS, elapsed, 1 / elapsed, counter.count))
            db.session.remove()
            db.engine.dispose()
    finally:
        if cleanup:
            admin, name = cleanup
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return results


def main() -> None:
    data = build_csv(ROWS)
    rows = []
    for backend in ("sqlite", "postgresql"):
        rows += run(backend, data)
    print(f"{'database':<11} {'step':<24} {'rows':>8} {'seconds':>9} {'per second':>11} {'SQL statements':>15}")
    for backend, label, n, seconds, rate, statements in rows:
        print(f"{backend:<11} {label:<24} {n:>8} {seconds:>9.2f} {rate:>11.0f} {statements:>15}")


if __name__ == "__main__":
    main()
