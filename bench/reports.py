"""Benchmark: the dashboard's reports on 100,000 returnees in PostgreSQL.

Loads a synthetic caseload with COPY (BENCH_SCALE returnees, default 100,000; a million is an
optional long run): a census one-month check for everyone and a sampled six-month wave, their
draws and strata, follow-ups closed with AAPOR codes, responses with scores, red flags and the
answers the tallies read. Then, for each report, prints its median time, the median time of
the bare SQL it sends (the same statements, run straight on the connection, rows fetched), and
their ratio: what the Python around the SQL costs (goal: at most 1.5). Then the same for the
dashboard page (/dashboard/, every section: tables, charts' data, HTML), each of its CSV
downloads and the API's reports (/api/v1/reports/...), requested through the app as an analyst,
against the bare SQL they send.
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.extensions import db  # noqa: E402
from monitor.models import Organisation, SampleDraw, SampleStratum  # noqa: E402
from monitor.reports import rows as reports  # noqa: E402
from monitor.reports.filters import ReportFilter  # noqa: E402
from tests.conftest import build_app  # noqa: E402

N = int(os.environ.get("BENCH_SCALE", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
PG = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
COUNTRIES = ["GE", "IQ", "RU", "AM", "UA", "MA", "SN", "AF", "CM", "IR", "CD", "MD", "BR", "MK", "KZ", "MN"]
COHORTS = [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01", "2026-02", "2026-03"]
DISPOSITIONS = ["1.1"] * 50 + ["1.2"] * 6 + ["2.11"] * 8 + ["2.112"] * 2 + ["2.12"] * 4 + ["2.20"] * 15 + \
    ["2.21"] * 6 + ["2.31", "2.361", "2.33"] + ["3.90"] * 4 + ["4.10"]
HEARD = ["family_friends", "other_migrants", "returned_person", "return_desk", "iom_staff", "social_worker",
         "reception_centre", "poster_flyer", "website", "order_to_leave", "embassy", "other"]
FACTORS = ["no_legal_stay", "financial_hardship", "no_work", "physical_health", "family_at_home", "homesickness",
           "situation_improved", "reintegration_support", "children_future", "other"]
M6_FRACTION = 0.3
REPORTS = [("caseload", None), ("response", None), ("outcomes", ["country", "partner"]), ("heard", None),
           ("factors", None), ("trends", None)]


def copy(conn, table: str, columns: list[str], rows) -> int:
    count = 0
    with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as stream:
        for row in rows:
            stream.write_row(row)
            count += 1
    return count


def populate(partners: list[int]) -> dict[str, int]:
    rng = random.Random(11)
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    people = []
    for n in range(1, N + 1):
        cohort = rng.choice(COHORTS)
        people.append((n, rng.choice(COUNTRIES), rng.choice(partners), cohort,
                       date(int(cohort[:4]), int(cohort[5:]), rng.randint(1, 28))))
    # draws and strata: a census m1 draw and a sampled m6 draw per cohort, country x partner strata
    frame: dict[tuple, list[int]] = {}
    for n, country, partner, cohort, _returned in people:
        frame.setdefault((cohort, country, partner), []).append(n)
    strata: dict[tuple, tuple[int, float]] = {}
    for wave, kind in (("m1", "census"), ("m6", "sample")):
        for cohort in COHORTS:
            draw = SampleDraw(wave=wave, cohort=cohort, kind=kind, sequence=0, seed=1, fraction=1.0 if kind == "census"
                              else M6_FRACTION, min_per_stratum=2, frame_size=0, sample_size=0)
            db.session.add(draw)
            db.session.flush()
            for (c, country, partner), members in frame.items():
                if c != cohort:
                    continue
                size = len(members)
                drawn = size if kind == "census" else min(size, max(2, round(M6_FRACTION * size)))
                stratum = SampleStratum(draw_id=draw.id, country=country, partner_id=partner, frame_size=size,
                                        sample_size=drawn, probability=drawn / size)
                db.session.add(stratum)
                db.session.flush()
                strata[(wave, cohort, country, partner)] = (stratum.id, drawn / size, draw.id)
    db.session.commit()
    selected = set()
    for (cohort, country, partner), members in frame.items():
        drawn = min(len(members), max(2, round(M6_FRACTION * len(members))))
        selected |= set(random.Random(f"{cohort}{country}{partner}").sample(members, drawn))

    conn = db.session.connection().connection.driver_connection
    counts = {}
    counts["returnees"] = copy(conn, "returnees", [
        "id", "code", "destination_country", "partner_id", "return_date", "sex", "language", "preferred_channel",
        "consent_given", "consent_sms", "consent_phone", "do_not_contact", "created_at", "updated_at"],
        ((n, f"B-{n:07d}", country, partner, returned, rng.choice("fmx"), "ka", rng.choice(["sms", "sms", "phone"]),
          True, True, True, False, now, now) for n, country, partner, _c, returned in people))
    follow_ups, responses, scores, flags, answers = [], [], [], [], []
    for n, country, partner, cohort, returned in people:
        for wave in ("m1", "m6"):
            if wave == "m6" and n not in selected:
                continue
            stratum_id, probability, draw_id = strata[(wave, cohort, country, partner)]
            f_id = len(follow_ups) + 1
            disposition = rng.choice(DISPOSITIONS)
            due = returned + timedelta(days=30 if wave == "m1" else 182)
            follow_ups.append((f_id, n, wave, due, due, due + timedelta(days=30), rng.choice(["sms", "phone"]),
                               "planned", "closed", disposition, draw_id, stratum_id, probability, 0, 0, now, 1))
            if disposition not in ("1.1", "1.2", "2.12"):
                continue
            r_id = len(responses) + 1
            responses.append((r_id, f_id, n, wave, "standard", 2, rng.choice(["sms-web", "sms-web", "phone", "visit"]),
                              "ka", wave == "m1", False, now, now))
            if disposition != "2.12":
                values = [round(rng.random(), 3) for _ in range(3)]
                scores.append((r_id, 1, *values, round(sum(values) / 3, 3)))
            housing = rng.choice(["own_home", "family", "rented", "shelter", "no_fixed_place"])
            answers.append((r_id, "housing_situation", None, housing))
            answers.append((r_id, "housing_can_stay", None, rng.choice(["yes", "no"])))
            answers.append((r_id, "someone_to_rely_on", None, rng.choice(["yes", "yes", "no"])))
            safe = rng.choice(["safe", "mostly_safe", "not_safe"])
            answers.append((r_id, "feels_safe", None, safe))
            if housing in ("shelter", "no_fixed_place"):
                flags.append((r_id, "no_shelter"))
            if safe == "not_safe":
                flags.append((r_id, "feels_unsafe"))
            if wave == "m1":
                for position, code in enumerate(rng.sample(HEARD, rng.randint(1, 3))):
                    answers.append((r_id, "heard_from", position, code))
                for position, code in enumerate(rng.sample(FACTORS, rng.randint(1, 3))):
                    answers.append((r_id, "decision_factors", position, code))
    counts["follow_ups"] = copy(conn, "follow_ups", [
        "id", "returnee_id", "wave", "due_date", "window_opens", "window_closes", "channel", "source", "state",
        "disposition", "sample_draw_id", "stratum_id", "inclusion_probability", "reminders_sent", "attempts",
        "created_at", "version"], follow_ups)
    counts["responses"] = copy(conn, "responses", [
        "id", "follow_up_id", "returnee_id", "wave", "questionnaire_code", "questionnaire_version", "mode", "language",
        "first_follow_up", "imported", "started_at", "updated_at"], responses)
    counts["response_scores"] = copy(conn, "response_scores", ["response_id", "version", "economic", "social",
                                                                "psychosocial", "composite"], scores)
    counts["response_flags"] = copy(conn, "response_flags", ["response_id", "flag"], flags)
    counts["response_answers"] = copy(conn, "response_answers", ["response_id", "item", "position", "code"], answers)
    db.session.commit()
    with db.engine.connect() as c:
        for table in ("returnees", "follow_ups", "responses"):
            c.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        c.execute(sa.text("ANALYZE"))
        c.commit()
    return counts


def measure(kind: str, by) -> tuple[float, float, int]:
    """Median seconds of the report, median seconds of its bare SQL, number of statements."""
    statements: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    report_times = []
    for run in range(RUNS):
        statements.clear()
        db.session.expire_all()
        start = time.perf_counter()
        getattr(reports, kind)(ReportFilter(), by, False, None)
        report_times.append(time.perf_counter() - start)
        db.session.rollback()
    sa.event.remove(db.engine, "before_cursor_execute", record)
    return statistics.median(report_times), bare_seconds(statements), len(statements)


def bare_seconds(statements: list[tuple[str, object]]) -> float:
    """Median seconds of the same statements run straight on a connection, rows fetched."""
    times = []
    raw = db.engine.raw_connection()
    try:
        for run in range(RUNS):
            cursor = raw.cursor()
            start = time.perf_counter()
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
            times.append(time.perf_counter() - start)
            cursor.close()
            raw.rollback()
    finally:
        raw.close()
    return statistics.median(times)


def measure_page(client, url: str) -> tuple[float, float, int, int]:
    """Median seconds of a dashboard or API request, of its bare SQL, statements, and its gzip size."""
    import gzip

    statements: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    times, size = [], 0
    for run in range(RUNS):
        sa.event.listen(db.engine, "before_cursor_execute", record)
        statements.clear()
        start = time.perf_counter()
        answer = client.get(url)
        times.append(time.perf_counter() - start)
        sa.event.remove(db.engine, "before_cursor_execute", record)
        assert answer.status_code == 200, (url, answer.status_code)
        size = len(gzip.compress(answer.data))
    # the login's own statements (session, user) are part of any page: kept in the bare SQL too
    return statistics.median(times), bare_seconds(statements), len(statements), size


def dashboard(app) -> None:
    from monitor.users.operations import create_user
    from tests.conftest import PASSWORD, Browser

    create_user("bench-analyst@example.org", PASSWORD, "analyst")
    db.session.commit()
    browser = Browser(app)
    browser.login("bench-analyst@example.org")
    client = browser.client
    print(f"{'dashboard':<34} {'seconds':>8} {'bare SQL':>9} {'ratio':>6} {'statements':>11} {'gzip KB':>8}")
    for url in ["/dashboard/", "/dashboard/?wave=m6&country=GE", "/dashboard/?wave=m6&country=GE&publication=1",
                *(f"/dashboard/{key}.csv" for key in ("caseload", "response", "outcomes", "heard", "factors",
                                                       "trends"))]:
        seconds, bare, count, size = measure_page(client, url)
        print(f"{url:<34} {seconds:>8.3f} {bare:>9.3f} {seconds / bare:>6.2f} {count:>11} {size / 1024:>8.1f}")
    # The API answers the same reports as JSON (the analyst's session; a token costs the same).
    print(f"{'api':<50} {'seconds':>8} {'bare SQL':>9} {'ratio':>6} {'statements':>11} {'gzip KB':>8}")
    for url in ["/api/v1/reports/caseload", "/api/v1/reports/response?by=wave,channel",
                "/api/v1/reports/outcomes?wave=m6&country=GE&by=partner",
                "/api/v1/reports/outcomes?wave=m6&country=GE&by=partner&publication=true",
                "/api/v1/reports/heard?by=partner", "/api/v1/reports/trends"]:
        seconds, bare, count, size = measure_page(client, url)
        print(f"{url:<50} {seconds:>8.3f} {bare:>9.3f} {seconds / bare:>6.2f} {count:>11} {size / 1024:>8.1f}")


def profile() -> None:
    """Each statement of the outcomes report, timed once (BENCH_VERBOSE=1)."""
    statements = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    reports.outcomes(ReportFilter(), ["country", "partner"], False, None)
    sa.event.remove(db.engine, "before_cursor_execute", record)
    db.session.rollback()
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements:
            start = time.perf_counter()
            cursor.execute(statement, parameters)
            cursor.fetchall()
            print(f"{time.perf_counter() - start:8.3f}  {' '.join(statement.split())[:150]}")
    finally:
        raw.close()


def main() -> None:
    name = f"monitor_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        app = build_app(sa.engine.make_url(PG).set(database=name).render_as_string(hide_password=False),
                        tempfile.mkdtemp())
        with app.app_context():
            upgrade()
            orgs = db.session.scalars(sa.select(Organisation).where(Organisation.code.in_(["caritas", "iom"]))).all()
            start = time.perf_counter()
            counts = populate([o.id for o in orgs])
            print(f"loaded with COPY in {time.perf_counter() - start:.1f} s: "
                  + ", ".join(f"{count:,} {table}" for table, count in counts.items()))
            if os.environ.get("BENCH_VERBOSE"):
                profile()
            print(f"{'report':<10} {'seconds':>8} {'bare SQL':>9} {'ratio':>6} {'statements':>11}   (median of {RUNS})")
            for kind, by in REPORTS:
                seconds, bare, count = measure(kind, by)
                print(f"{kind:<10} {seconds:>8.3f} {bare:>9.3f} {seconds / bare:>6.2f} {count:>11}")
            db.session.remove()
            dashboard(app)
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
