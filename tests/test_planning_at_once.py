"""Two planners at once (the scheduler and an operator's `monitor plan`, or two scheduler
processes): threads, each with its own app context and session, on both databases. Every
follow-up, draw and frame membership exists once, no planner fails, and what each planner
reports adds up to what is stored. The interleavings that matter are forced (a barrier or a hook
between a planner's read and its insert), so these tests do not depend on the thread timing:
- a follow-up written by someone else between the census read and its insert (ON CONFLICT DO
  NOTHING leaves it alone);
- a sampled cohort drawn by the other planner between the read and the insert of the draw
  (the loser rolls back that draw and goes on with the next cohort and wave).
"""
from __future__ import annotations

import threading
from datetime import date

from sqlalchemy import func, select

from monitor.extensions import db
from monitor.models import FollowUp, Returnee, SampleDraw, SampleFrameMember, SampleStratum, Wave
from scheduler import planning
from scheduler.planning import plan, verify_draw
from tests.conftest import make_returnee
from tests.scheduler_helpers import count

TODAY = date(2026, 10, 1)
# m1 (census) is due for returns of 2026-09-01; m6 (sampled) is open for the cohort 2026-03 and
# m12 (sampled) for the cohort 2025-09.
CASELOAD = {"m1": [date(2026, 9, 1)] * 4, "m6": [date(2026, 3, 10 + i) for i in range(12)],
            "m12": [date(2025, 9, 20 + i) for i in range(3)]}


def caseload(orgs) -> None:
    for wave, days in CASELOAD.items():
        for i, day in enumerate(days):
            org, local = (orgs["caritas"], orgs["caritas-ge"]) if i % 3 else (orgs["iom"], orgs["iom-ge"])
            make_returnee(org, f"{wave.upper()}-{i}", local, return_date=day)
    db.session.commit()


def in_threads(app, work, times: int = 2, timeout: float = 60) -> tuple[list, list[BaseException]]:
    """Run `work()` in `times` threads that start together, each in an app context (and so a
    database session) of its own; their results and the exceptions they raised."""
    results, failures, start = [], [], threading.Barrier(times)

    def run():
        with app.app_context():
            try:
                start.wait(timeout=timeout)
                results.append(work())
            except BaseException as failure:  # noqa: BLE001 - reported by the test
                failures.append(failure)
                db.session.rollback()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a planner never finished"
    return results, failures


def stored_once() -> None:
    """Nothing is stored twice, and every draw is what its seed and frame give."""
    db.session.expire_all()
    duplicates = db.session.execute(select(FollowUp.returnee_id, FollowUp.wave).group_by(
        FollowUp.returnee_id, FollowUp.wave).having(func.count() > 1)).all()
    assert duplicates == []
    members = db.session.execute(select(SampleFrameMember.returnee_id, SampleFrameMember.wave).group_by(
        SampleFrameMember.returnee_id, SampleFrameMember.wave).having(func.count() > 1)).all()
    assert members == []
    draws = db.session.scalars(select(SampleDraw)).all()
    assert len({(d.wave, d.cohort) for d in draws}) == len(draws)  # one draw per wave and cohort
    assert [problem for d in draws for problem in verify_draw(d)] == []


def expected_counts() -> dict[str, int]:
    """What one planner alone plans: the census m1 for everyone, m6 and m12 drawn per stratum
    (IOM GE 4 of 4 and Caritas GE 5 of 8 in m6: the minimum of 5; m12 everyone, fewer than 5)."""
    return {"m1": 4, "m6": 9, "m12": 3}


def planned_per_wave() -> dict[str, int]:
    db.session.expire_all()
    return dict(db.session.execute(select(FollowUp.wave, func.count()).group_by(FollowUp.wave)).all())


def test_two_planners_at_once_plan_everything_once(app, orgs):
    caseload(orgs)
    reports, failures = in_threads(app, lambda: plan(TODAY), times=3)
    assert failures == [] and len(reports) == 3
    stored_once()
    assert planned_per_wave() == expected_counts()
    # Each follow-up is counted by the planner that made it, never twice; each draw reported once.
    assert {wave: sum(r.created[wave] for r in reports) for wave in CASELOAD} == expected_counts()
    draws = sorted(line for r in reports for line in r.draws)
    assert draws == ["m12 2025-09: 3 of 3", "m6 2026-03: 9 of 12"]
    assert all(w.planned_through == TODAY for w in db.session.scalars(select(Wave)))
    # A third run plans nothing more.
    assert sum(plan(TODAY).created.values()) == 0 and count(FollowUp) == sum(expected_counts().values())


def test_a_follow_up_written_between_the_census_read_and_its_insert_is_left_alone(app, orgs, monkeypatch):
    """The census read found M1-0 without a follow-up; before the planner inserts, another
    writer (a paper response imported by `monitor import-responses`) commits M1-0's m1
    follow-up. The planner's insert leaves it alone, plans the others, and counts only those."""
    from tests.test_import_responses import csv_file, row

    caseload(orgs)
    strata, imported = planning._census_strata, []

    def another_writer_first(*args, **kwargs):
        if not imported:  # once: the other writer runs to its commit, in a session of its own
            from monitor.responses.importing import import_responses

            def write():
                return import_responses(csv_file(row("M1-0", date="2026-09-30", disposition="2.11")),
                                        today=TODAY, actor="test")
            reports, failures = in_threads(app, write, times=1)
            assert failures == [] and reports[0].written and reports[0].created == 1
            imported.append(reports[0])
        return strata(*args, **kwargs)

    monkeypatch.setattr(planning, "_census_strata", another_writer_first)
    report = plan(TODAY)
    assert imported and report.created["m1"] == 3
    stored_once()
    assert planned_per_wave()["m1"] == 4
    kept = db.session.scalar(select(FollowUp).join(Returnee).where(Returnee.code == "M1-0", FollowUp.wave == "m1"))
    assert (kept.source, kept.state, kept.disposition, kept.sample_draw_id) == ("imported", "closed", "2.11", None)
    # The census stratum counts the planner's follow-ups only (the import's is outside the draw).
    draw = db.session.scalar(select(SampleDraw).where(SampleDraw.wave == "m1"))
    assert (draw.frame_size, sum(s.frame_size for s in draw.strata)) == (3, 3)


def test_a_cohort_drawn_by_the_other_planner_between_read_and_insert(app, orgs, monkeypatch):
    """Both planners have read each sampled cohort's frame before either inserts its draw (a
    barrier just before the draw): one draw per cohort stands, the loser rolls its own back,
    reports nothing for it, and goes on to the next wave without an error."""
    caseload(orgs)
    draw, both_read = planning.draw_wave_sample, threading.Barrier(2)
    met = []

    def read_by_both_then_draw(*args, **kwargs):
        both_read.wait(timeout=30)
        met.append(threading.get_ident())
        return draw(*args, **kwargs)

    monkeypatch.setattr(planning, "draw_wave_sample", read_by_both_then_draw)
    reports, failures = in_threads(app, lambda: plan(TODAY))
    assert failures == [] and len(reports) == 2
    assert len(met) == 4  # both planners drew m6 and m12: each draw was contested
    monkeypatch.undo()  # verify_draw draws again, alone
    stored_once()
    assert planned_per_wave() == expected_counts()
    assert {wave: sum(r.created[wave] for r in reports) for wave in CASELOAD} == expected_counts()
    # Each draw is reported by its winner only; the loser's rolled back draws left nothing.
    assert sorted(line for r in reports for line in r.draws) == ["m12 2025-09: 3 of 3", "m6 2026-03: 9 of 12"]
    assert count(SampleDraw, SampleDraw.kind == "sample") == 2
    assert count(SampleStratum) == 2 + 2 + 2  # GE x IOM and GE x Caritas in m1, m6 and m12
    assert count(SampleFrameMember) == len(CASELOAD["m6"]) + len(CASELOAD["m12"])
    assert all(w.planned_through == TODAY for w in db.session.scalars(select(Wave)))
