"""Planning (scheduler/planning.py) on both databases: who is planned, when, once; the sampled
waves' draws, their seeds and inclusion probabilities; the `plan` and `sample-report` commands."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from monitor.extensions import db
from monitor.models import FollowUp, Returnee, SampleDraw, SampleStratum, Wave
from monitor.returnees import operations
from scheduler.planning import eligible_clause, plan
from scheduler.sampling import draw_wave_sample
from tests.conftest import make_returnee
from tests.scheduler_helpers import count

TODAY = date(2026, 10, 1)


def planned(wave: str = "m1") -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(select(Returnee.code).join(FollowUp, FollowUp.returnee_id == Returnee.id)
                                  .where(FollowUp.wave == wave)))


def returned(days_ago: int, today: date = TODAY) -> date:
    return today - timedelta(days=days_ago)


def test_the_migration_sets_the_default_plan(app):
    waves = {w.code: (w.due_days, w.opens_days_before, w.closes_days_after, w.sampled, w.fraction,
                      w.min_per_stratum, w.active) for w in db.session.scalars(select(Wave))}
    assert waves == {"m1": (30, 0, 30, False, 1.0, 0, True), "m6": (182, 0, 45, True, 0.2, 5, True),
                     "m12": (365, 0, 45, True, 0.2, 5, True)}


# -- who ----------------------------------------------------------------------------------------

def test_each_exclusion_is_never_planned(orgs):
    day = returned(30)
    make_returnee(orgs["caritas"], "OK", return_date=day)
    make_returnee(orgs["caritas"], "PHONE-ONLY", return_date=day, preferred_channel="phone")
    no_consent = make_returnee(orgs["caritas"], "NO-CONSENT", return_date=day)
    operations.give_consent(no_consent, [], "written")  # asked, refused
    withdrawn = make_returnee(orgs["caritas"], "WITHDRAWN", return_date=day)
    make_returnee(orgs["caritas"], "DNC", return_date=day)
    make_returnee(orgs["caritas"], "NONE", return_date=day, preferred_channel="none")
    make_returnee(orgs["caritas"], "NO-PHONE", return_date=day, phone=None)
    db.session.commit()
    operations.withdraw_consent(withdrawn, "verbal", actor="test")
    operations.set_do_not_contact(db.session.scalar(select(Returnee).where(Returnee.code == "DNC")), True, actor="test")
    db.session.commit()

    report = plan(TODAY)
    assert planned() == {"OK", "PHONE-ONLY"}
    assert report.created["m1"] == 2
    channels = dict(db.session.execute(select(Returnee.code, FollowUp.channel).join(FollowUp.returnee)).all())
    assert channels == {"OK": "sms", "PHONE-ONLY": "phone"}
    # Later runs, all through the window, never pick them up either.
    for offset in (1, 10, 30):
        plan(TODAY + timedelta(days=offset))
    assert planned() == {"OK", "PHONE-ONLY"}
    assert count(FollowUp) == 2


def test_a_returnee_who_never_had_consent_recorded_is_not_planned(orgs):
    returnee = make_returnee(orgs["caritas"], "UNRECORDED", return_date=returned(30))
    returnee.consent_given = returnee.consent_sms = returnee.consent_phone = False
    db.session.commit()
    plan(TODAY)
    assert planned() == set()


def test_the_eligibility_clause_agrees_with_may_contact(orgs):
    ok = make_returnee(orgs["caritas"], "OK")
    dnc = make_returnee(orgs["caritas"], "DNC")
    db.session.commit()
    operations.set_do_not_contact(dnc, True, actor="test")
    db.session.commit()
    eligible = set(db.session.scalars(select(Returnee.code).where(eligible_clause())))
    assert eligible == {"OK"}
    assert ok.may_contact("sms") and not dnc.may_contact("sms") and not dnc.may_contact("phone")


# -- when ---------------------------------------------------------------------------------------

def test_the_one_month_window(orgs):
    for days in (29, 30, 45, 60, 61):
        make_returnee(orgs["caritas"], f"D{days}", return_date=returned(days))
    db.session.commit()
    plan(TODAY)
    # 30 days have passed: due today; 45 and 60: imported late, window still open; 29: not yet; 61: closed.
    assert planned() == {"D30", "D45", "D60"}
    follow_up = db.session.scalar(select(FollowUp).join(Returnee).where(Returnee.code == "D30"))
    assert (follow_up.due_date, follow_up.window_opens, follow_up.window_closes) == (
        TODAY, TODAY, TODAY + timedelta(days=30))
    assert follow_up.next_action_at == datetime(2026, 10, 1, tzinfo=timezone.utc)
    assert (follow_up.state, follow_up.channel, follow_up.inclusion_probability, follow_up.sample_draw_id) == (
        "planned", "sms", 1.0, None)
    assert (follow_up.reminders_sent, follow_up.attempts, follow_up.invited_at, follow_up.disposition) == (
        0, 0, None, None)
    late = db.session.scalar(select(FollowUp).join(Returnee).where(Returnee.code == "D60"))
    assert late.window_closes == TODAY and late.due_date == TODAY - timedelta(days=30)

    plan(TODAY + timedelta(days=1))  # the day after: D29 reaches 30 days
    assert planned() == {"D29", "D30", "D45", "D60"}


def test_planned_on_the_day_not_before(orgs):
    make_returnee(orgs["caritas"], "R", return_date=date(2026, 9, 1))
    db.session.commit()
    assert plan(date(2026, 9, 30)).created["m1"] == 0
    assert planned() == set()
    assert plan(date(2026, 10, 1)).created["m1"] == 1
    assert planned() == {"R"}


def test_imported_late_while_the_window_is_open(orgs):
    plan(date(2026, 10, 1))
    make_returnee(orgs["caritas"], "LATE", return_date=date(2026, 9, 1))  # imported three weeks on
    db.session.commit()
    plan(date(2026, 10, 21))
    follow_up = db.session.scalar(select(FollowUp))
    assert planned() == {"LATE"}
    assert (follow_up.window_opens, follow_up.window_closes) == (date(2026, 10, 1), date(2026, 10, 31))
    # The window is already open: the dispatcher looks at it on its next run.
    assert follow_up.next_action_at <= datetime(2026, 10, 21, tzinfo=timezone.utc)


def test_not_planned_after_the_window_closes(orgs):
    make_returnee(orgs["caritas"], "R", return_date=date(2026, 9, 1))
    db.session.commit()
    assert plan(date(2026, 10, 31)).created["m1"] == 1  # the last day
    db.session.execute(FollowUp.__table__.delete())
    db.session.commit()
    assert plan(date(2026, 11, 1)).created["m1"] == 0
    assert planned() == set()


def test_an_inactive_wave_is_not_planned(orgs):
    make_returnee(orgs["caritas"], "R", return_date=date(2026, 9, 1))
    db.session.get(Wave, "m1").active = False
    db.session.commit()
    report = plan(TODAY)
    assert "m1" not in report.created and planned() == set()


# -- once ---------------------------------------------------------------------------------------

def test_planning_twice_creates_nothing_the_second_time(orgs):
    for i in range(3):
        make_returnee(orgs["caritas"], f"M1-{i}", return_date=date(2026, 9, 1))
    for i in range(4):
        make_returnee(orgs["caritas"], f"M6-{i}", return_date=date(2026, 3, 10 + i))
    db.session.commit()
    first = plan(TODAY)
    assert first.created == {"m1": 3, "m6": 4, "m12": 0}
    totals = (count(FollowUp), count(SampleDraw), count(SampleStratum))
    # One draw (cohort 2026-03; cohorts with nobody eligible are not drawn), one stratum: GE x
    # Caritas, all 4 (fewer than the minimum).
    assert totals == (7, 1, 1)

    second = plan(TODAY)
    assert second.created == {"m1": 0, "m6": 0, "m12": 0}
    assert second.draws == []
    assert (count(FollowUp), count(SampleDraw), count(SampleStratum)) == totals
    assert second.lines() == ["m1: 0 follow-ups planned", "m12: 0 follow-ups planned", "m6: 0 follow-ups planned"]


def test_a_follow_up_already_there_is_left_alone(orgs):
    make_returnee(orgs["caritas"], "R", return_date=date(2026, 9, 1))
    db.session.commit()
    plan(TODAY)
    follow_up = db.session.scalar(select(FollowUp))
    follow_up.state, follow_up.disposition = "closed", "complete"
    db.session.commit()
    plan(TODAY + timedelta(days=3))
    db.session.expire_all()
    assert count(FollowUp) == 1 and db.session.scalar(select(FollowUp)).state == "closed"


# -- sampled waves ------------------------------------------------------------------------------

M6_COHORT = "2026-03"  # returned in March 2026: the m6 window (182 days on, 45 days long) is open on TODAY


def sampled_caseload(orgs):
    """Cohort 2026-03: GE x Caritas 30 (6 by the fraction), GE x IOM 3 (all: fewer than the minimum),
    AM x Caritas 8 (the minimum, 5); plus two who may not be contacted and so are not in the frame."""
    made = {}
    for i in range(30):
        made[f"GE-C-{i}"] = make_returnee(orgs["caritas"], f"GE-C-{i}", orgs["caritas-ge"],
                                          return_date=date(2026, 3, 1 + i))
    for i in range(3):
        made[f"GE-I-{i}"] = make_returnee(orgs["iom"], f"GE-I-{i}", orgs["iom-ge"], return_date=date(2026, 3, 5 + i))
    for i in range(8):
        made[f"AM-C-{i}"] = make_returnee(orgs["caritas"], f"AM-C-{i}", orgs["caritas-am"], destination_country="AM",
                                          phone="+37477123456", language="hy", return_date=date(2026, 3, 2 + i))
    make_returnee(orgs["caritas"], "GE-C-NONE", preferred_channel="none", return_date=date(2026, 3, 3))
    make_returnee(orgs["caritas"], "GE-C-NOPHONE", phone=None, return_date=date(2026, 3, 3))
    db.session.commit()
    return made


EXPECTED_STRATA = {("GE", "caritas"): (30, 6, 0.2), ("GE", "iom"): (3, 3, 1.0), ("AM", "caritas"): (8, 5, 0.625)}


def strata_of(draw: SampleDraw, orgs) -> dict[tuple[str, str], tuple[int, int, float]]:
    codes = {o.id: code for code, o in orgs.items()}
    return {(s.country, codes[s.partner_id]): (s.frame_size, s.sample_size, s.probability) for s in draw.strata}


def test_a_sampled_wave_draws_per_stratum(orgs):
    made = sampled_caseload(orgs)
    report = plan(TODAY)
    draw = db.session.scalar(select(SampleDraw).where(SampleDraw.wave == "m6", SampleDraw.cohort == M6_COHORT))
    assert (draw.frame_size, draw.sample_size, draw.fraction, draw.min_per_stratum) == (41, 14, 0.2, 5)
    assert strata_of(draw, orgs) == EXPECTED_STRATA  # 6/30 == 0.2 and 5/8 == 0.625 in floating point too
    assert f"draw m6 {M6_COHORT}: 14 of 41" in report.lines()
    assert report.created["m6"] == 14

    follow_ups = db.session.scalars(select(FollowUp).where(FollowUp.wave == "m6")).all()
    assert len(follow_ups) == 14 and {f.sample_draw_id for f in follow_ups} == {draw.id}
    selected = {f.returnee_id for f in follow_ups}
    assert {made[f"GE-I-{i}"].id for i in range(3)} <= selected  # a census of the small stratum
    assert "GE-C-NONE" not in planned("m6") and "GE-C-NOPHONE" not in planned("m6")


def test_inclusion_probabilities_on_follow_ups_match_their_strata(orgs):
    made = sampled_caseload(orgs)
    plan(TODAY)
    by_id = {r.id: r for r in made.values()}
    draw = db.session.scalar(select(SampleDraw).where(SampleDraw.cohort == M6_COHORT))
    stratum_probability = {(s.country, s.partner_id): s.probability for s in draw.strata}
    follow_ups = db.session.scalars(select(FollowUp).where(FollowUp.wave == "m6")).all()
    for follow_up in follow_ups:
        returnee = by_id[follow_up.returnee_id]
        stratum = (returnee.destination_country, returnee.partner_id)
        assert follow_up.inclusion_probability == stratum_probability[stratum]
    weights = sorted(round(1 / f.inclusion_probability, 3) for f in follow_ups)
    assert weights == [1.0] * 3 + [1.6] * 5 + [5.0] * 6
    # The design weights add up to the frame: the sample stands for the whole cohort.
    assert sum(1 / f.inclusion_probability for f in follow_ups) == pytest.approx(draw.frame_size)
    # Each follow-up's window is its own, from its return date.
    for follow_up in follow_ups:
        returnee = by_id[follow_up.returnee_id]
        assert follow_up.due_date == returnee.return_date + timedelta(days=182)
        assert follow_up.window_closes == follow_up.due_date + timedelta(days=45)


def sampled_ids() -> set[int]:
    return set(db.session.scalars(select(FollowUp.returnee_id).where(FollowUp.wave == "m6")))


def test_a_cohort_is_drawn_once(orgs):
    sampled_caseload(orgs)
    plan(TODAY)
    draw = db.session.scalar(select(SampleDraw).where(SampleDraw.cohort == M6_COHORT))
    first = (draw.id, draw.seed, sampled_ids())
    draws = count(SampleDraw)

    for later in (TODAY, TODAY + timedelta(days=1), TODAY + timedelta(days=20)):
        report = plan(later)
        assert not any(line.startswith(f"draw m6 {M6_COHORT}") for line in report.lines())
    db.session.expire_all()
    assert count(SampleDraw, SampleDraw.wave == "m6", SampleDraw.cohort == M6_COHORT) == 1
    draw = db.session.scalar(select(SampleDraw).where(SampleDraw.cohort == M6_COHORT))
    again = (draw.id, draw.seed, sampled_ids())
    assert again == first
    assert count(SampleDraw) >= draws


def test_planning_before_the_caseload_is_imported_loses_no_cohort(orgs):
    # A new installation: the scheduler plans (hourly) before the partners' case lists are imported.
    plan(TODAY)
    assert count(FollowUp) == 0
    sampled_caseload(orgs)
    report = plan(TODAY + timedelta(days=1))
    assert f"draw m6 {M6_COHORT}: 14 of 41" in report.lines()
    assert report.created["m6"] == 14
    draw = db.session.scalar(select(SampleDraw).where(SampleDraw.wave == "m6", SampleDraw.cohort == M6_COHORT))
    assert strata_of(draw, orgs) == EXPECTED_STRATA


def test_the_stored_seed_reproduces_the_selection(orgs):
    sampled_caseload(orgs)
    plan(TODAY)
    draw = db.session.scalar(select(SampleDraw).where(SampleDraw.cohort == M6_COHORT))
    frame = db.session.execute(select(Returnee.id, Returnee.destination_country, Returnee.partner_id).where(
        eligible_clause(), Returnee.return_date.between(date(2026, 3, 1), date(2026, 3, 31)))).all()
    assert len(frame) == draw.frame_size
    redrawn = draw_wave_sample([tuple(row) for row in frame], draw.fraction, draw.min_per_stratum, draw.seed)
    chosen = {rid for stratum in redrawn for rid in stratum.selected}
    stored = set(db.session.scalars(select(FollowUp.returnee_id).where(FollowUp.sample_draw_id == draw.id)))
    assert chosen == stored
    # Another seed would (almost surely) have chosen others in the 6-of-30 stratum.
    other = draw_wave_sample([tuple(row) for row in frame], draw.fraction, draw.min_per_stratum, draw.seed + 1)
    assert {rid for s in other for rid in s.selected} != stored


def test_seeds_differ_between_draws(orgs):
    sampled_caseload(orgs)
    make_returnee(orgs["caritas"], "FEB", return_date=date(2026, 2, 20))  # the m6 windows open on TODAY
    make_returnee(orgs["caritas"], "APR", return_date=date(2026, 4, 2))  # are for returns from 16 Feb to 2 Apr
    make_returnee(orgs["caritas"], "M12", return_date=date(2025, 10, 1))
    db.session.commit()
    report = plan(TODAY)
    assert sorted(line.split(":")[0] for line in report.draws) == [
        "m12 2025-10", "m6 2026-02", "m6 2026-03", "m6 2026-04"]
    seeds = list(db.session.scalars(select(SampleDraw.seed)))
    assert len(seeds) == 4 and len(set(seeds)) == 4
    assert all(0 <= seed < 2**63 for seed in seeds)


# -- commands -----------------------------------------------------------------------------------

def line_with(output: str, *tokens: str) -> list[str]:
    for line in output.splitlines():
        words = line.split()
        if all(token in words for token in tokens):
            return words
    raise AssertionError(f"no line with {tokens} in:\n{output}")


def test_sample_report_command(app, orgs):
    sampled_caseload(orgs)
    plan(TODAY)
    result = app.test_cli_runner().invoke(args=["sample-report", "m6"])
    assert result.exit_code == 0, result.output
    for (country, partner), (frame, sample, probability) in EXPECTED_STRATA.items():
        words = line_with(result.output, M6_COHORT, country, partner)
        assert str(frame) in words and str(sample) in words
        assert any(word == f"{probability:.4f}" for word in words), words
    draw = db.session.scalar(select(SampleDraw).where(SampleDraw.cohort == M6_COHORT))
    summary = line_with(result.output, M6_COHORT, "all")
    assert "41" in summary and "14" in summary and str(draw.seed) in result.output.replace(",", " ").split()

    result = app.test_cli_runner().invoke(args=["sample-report", "m12"])
    assert result.exit_code == 0 and "no draw for wave m12 yet" in result.output


def test_plan_command(app, orgs):
    sampled_caseload(orgs)
    make_returnee(orgs["caritas"], "M1", return_date=date(2026, 9, 1))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["plan", "--today", "2026-10-01"])
    assert result.exit_code == 0, result.output
    assert "m1: 1 follow-ups planned" in result.output
    assert "m6: 14 follow-ups planned" in result.output
    assert "m12: 0 follow-ups planned" in result.output
    assert f"draw m6 {M6_COHORT}: 14 of 41" in result.output
    assert count(FollowUp) == 15

    again = app.test_cli_runner().invoke(args=["plan", "--today", "2026-10-01"])
    assert again.exit_code == 0 and "m1: 0 follow-ups planned" in again.output and "draw" not in again.output
    assert count(FollowUp) == 15

    bad = app.test_cli_runner().invoke(args=["plan", "--today", "1 October"])
    assert bad.exit_code != 0 and "is not a date" in bad.output
