"""Benchmark: importing returnees from CSV, and the returnee list, on SQLite and PostgreSQL, at two
sizes, printing how time and memory grow between them.

Builds its own data: a CSV of N returnees (with names and phone numbers, both encrypted at rest),
imports it into an empty database, imports it again (every row unchanged), then times the first
page of the returnee list with its count. Each (database, size) runs in a process of its own, so
its peak memory (the process's maximum resident set) is that import's alone.

Sizes: env BENCH_IMPORT_ROWS, two comma-separated counts, default "2000,20000" (a short `make
bench`); the goal is measured with BENCH_IMPORT_ROWS=10000,100000: at 100,000 rows the first
import under 20 s and 300 MB on PostgreSQL.
"""
from __future__ import annotations

import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZES = [int(n) for n in os.environ.get("BENCH_IMPORT_ROWS", "2000,20000").split(",")]
PG = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
GOAL_ROWS, GOAL_SECONDS, GOAL_MB = 100_000, 20, 300


def build_csv(rows: int) -> bytes:
    rng = random.Random(1)
    out = io.StringIO()
    out.write("code,destination_country,partner,local_partner,return_date,language,channel,phone,consent,"
              "sex,birth_year,adults,children,vulnerabilities,name\n")
    for n in range(rows):
        out.write(f"B-{n:07d},GE,caritas,caritas-ge,2026-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d},ka,sms,"
                  f"+995555{rng.randint(100000, 999999)},yes,{rng.choice('mfx')},{rng.randint(1950, 2005)},"
                  f"{rng.randint(1, 3)},{rng.randint(0, 4)},{rng.choice(['', 'medical', 'medical;family_with_children'])},"
                  f"Returnee {n}\n")
    return out.getvalue().encode()


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


class StatementCounter:
    """Every statement sent: SQLAlchemy's, and the COPY statements (PostgreSQL) that `insert_many`
    sends on the driver's connection, which SQLAlchemy's events do not see."""

    def __init__(self, engine):
        from monitor.returnees import operations

        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._count)
        insert_many = operations.insert_many

        def counted(table, rows):
            if rows and engine.dialect.name == "postgresql":
                self.count += 1
            insert_many(table, rows)

        operations.insert_many = counted

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


def run_one(backend: str, rows: int) -> list[dict]:
    """One database, one size, in this process: the steps with their time, statements and the
    process's peak memory after each."""
    from flask_migrate import upgrade

    from monitor.extensions import db
    from monitor.models import Organisation
    from monitor.returnees.importing import import_returnees
    from tests.conftest import build_app  # the same app set-up as the tests

    data = build_csv(rows)
    url, cleanup = database(backend)
    app = build_app(url, tempfile.mkdtemp())
    results = []
    try:
        with app.app_context():
            upgrade()
            caritas = db.session.scalar(sa.select(Organisation).where(Organisation.code == "caritas"))
            db.session.add(Organisation(code="caritas-ge", name="Caritas Georgia", kind="local", parent=caritas,
                                        country="GE"))
            db.session.commit()
            counter = StatementCounter(db.engine)
            before = max_rss_mb()  # the app, its imports and the file: before any row is read
            for label in ("first import", "re-import (unchanged)"):
                counter.count = 0
                start, cpu = time.perf_counter(), time.process_time()
                report = import_returnees(data, actor="bench")
                elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
                assert report.written and not report.errors, report.errors[:3]
                assert (report.created if label == "first import" else report.unchanged) == rows
                results.append({"step": label, "seconds": elapsed, "cpu": cpu, "statements": counter.count,
                                "peak_mb": max_rss_mb(), "before_mb": before})
            from monitor.users.operations import create_user
            create_user("bench@example.org", "correct horse battery 9", "admin")
            db.session.commit()
            app.config["WTF_CSRF_ENABLED"] = False
            client = app.test_client()
            login = client.post("/login", data={"email": "bench@example.org", "password": "correct horse battery 9"})
            assert login.status_code == 302, login.status_code
            counter.count = 0
            start = time.perf_counter()
            response = client.get("/returnees/?status=contactable&q=B-00")
            elapsed = time.perf_counter() - start
            assert response.status_code == 200, response.status_code
            results.append({"step": "returnee list page", "seconds": elapsed, "cpu": None, "statements": counter.count,
                            "peak_mb": None, "before_mb": None})
            db.session.remove()
            db.engine.dispose()
    finally:
        if cleanup:
            admin, name = cleanup
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return results


def measured(backend: str, rows: int) -> list[dict]:
    child = subprocess.run([sys.executable, __file__, "--one", backend, str(rows)], capture_output=True, text=True,
                           check=False)
    if child.returncode:
        sys.stderr.write(child.stderr)
        raise SystemExit(f"the {backend} run of {rows} rows failed")
    return json.loads(child.stdout.strip().splitlines()[-1])


def main() -> None:
    load_before = os.getloadavg()[0]
    table = {(backend, rows): measured(backend, rows) for backend in ("sqlite", "postgresql") for rows in SIZES}
    # Wall time moves with the machine's load (shared); the import's own CPU time much less.
    print(f"load average before: {load_before:.1f}")
    print(f"{'database':<11} {'step':<24} {'rows':>8} {'seconds':>9} {'CPU s':>7} {'per second':>11} "
          f"{'SQL statements':>15} {'peak MB':>8} {'before MB':>10}")
    for (backend, rows), steps in table.items():
        for step in steps:
            if step["peak_mb"] is None:
                print(f"{backend:<11} {step['step']:<24} {rows:>8,} {step['seconds']:>9.2f} {'':>7} {'':>11} "
                      f"{step['statements']:>15,}")
                continue
            print(f"{backend:<11} {step['step']:<24} {rows:>8,} {step['seconds']:>9.2f} {step['cpu']:>7.1f} "
                  f"{rows / step['seconds']:>11,.0f} {step['statements']:>15,} {step['peak_mb']:>8.0f} "
                  f"{step['before_mb']:>10.0f}")
    small, large = SIZES[0], SIZES[-1]
    print(f"\ngrowth from {small:,} to {large:,} rows (x{large / small:g}):")
    for backend in ("sqlite", "postgresql"):
        for first, second in zip(table[backend, small][:2], table[backend, large][:2]):
            print(f"{backend:<11} {first['step']:<24} seconds x{second['seconds'] / first['seconds']:.1f}, "
                  f"statements x{second['statements'] / first['statements']:.1f}, "
                  f"memory above the start {first['peak_mb'] - first['before_mb']:.0f} -> "
                  f"{second['peak_mb'] - second['before_mb']:.0f} MB")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if large == GOAL_ROWS:
        first = table["postgresql", large][0]
        met = first["seconds"] < GOAL_SECONDS and first["peak_mb"] < GOAL_MB
        print(f"\ngoal at {GOAL_ROWS:,} rows on PostgreSQL, first import: under {GOAL_SECONDS} s and {GOAL_MB} MB: "
              f"{first['seconds']:.1f} s ({first['cpu']:.1f} s of CPU in the app), {first['peak_mb']:.0f} MB peak: "
              f"{'met' if met else 'MISSED'}")
    else:
        print(f"\n(the goal, under {GOAL_SECONDS} s and {GOAL_MB} MB for {GOAL_ROWS:,} rows on PostgreSQL, is "
              f"measured with BENCH_IMPORT_ROWS=10000,{GOAL_ROWS})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(run_one(sys.argv[2], int(sys.argv[3]))))
    else:
        main()
