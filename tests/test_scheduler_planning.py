"""Planning (scheduler/planning.py) on both databases: who is in a wave's frame and planned,
when, once; census strata; the sampled waves' draws, their stored frames, seeds, supplementary
draws and inclusion probabilities; planned_through; the `plan` and `sample-report` commands."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from monitor.extensions import db
from monitor.followups.operations import opt_out
from monitor.models import (
    FollowUp, FollowUpEvent, Returnee, SampleDraw, SampleFrameMember, SampleStratum, SmsMessage, SurveyLink, Wave,
)
from monitor.returnees import operations
from scheduler.dispatch import dispatch
from scheduler.planning import plan, verify_draw, window
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
                      w.min_per_stratum, w.active, w.planned_through) for w in db.session.scalars(select(Wave))}
    assert waves == {"m1": (30, 0, 30, False, 1.0, 0, True, None), "m6": (182, 0, 45, True, 0.2, 5, True, None),
                     "m12": (365, 0, 45, True, 0.2, 5, True, None)}


# -- who ----------------------------------------------------------------------------------------

def test_the_frame_is_everyone_who_consented_refusers_included(orgs):
    day = returned(30)
    make_returnee(orgs["caritas"], "OK", return_date=day)
    make_returnee(orgs["caritas"], "PHONE-ONLY", return_date=day, preferred_channel="phone")
    no_consent = make_returnee(orgs["caritas"], "NO-CONSENT", return_date=day, consent=False)
    operations.give_consent(no_consent, [], "written")  # asked, refused from the start
    withdrawn = make_returnee(orgs["caritas"], "WITHDRAWN", return_date=day)
    dnc = make_returnee(orgs["caritas"], "DNC", return_date=day)
    stop = make_returnee(orgs["caritas"], "STOP", return_date=day)
    make_returnee(orgs["caritas"], "NONE", return_date=day, preferred_channel="none")
    make_returnee(orgs["caritas"], "NO-PHONE", return_date=day, phone=None)
    db.session.commit()
    operations.withdraw_consent(withdrawn, "verbal", actor="test")
    operations.set_do_not_contact(dnc, True, actor="test")
    opt_out(stop, actor="test", via="sms")
    db.session.commit()

    report = plan(TODAY)
    # Refusers are part of the population: planned, then closed as refusals by the dispatcher.
    assert planned() == {"OK", "PHONE-ONLY", "WITHDRAWN", "DNC", "STOP"}
    assert report.created["m1"] == 5
    channels = dict(db.session.execute(select(Returnee.code, FollowUp.channel).join(FollowUp.returnee)).all())
    assert channels == {"OK": "sms", "PHONE-ONLY": "phone", "WITHDRAWN": "sms", "DNC": "sms", "STOP": "sms"}
    # Later runs, all through the window, never pick up the others either.
    for offset in (1, 10, 30):
        plan(TODAY + timedelta(days=offset))
    assert planned() == {"OK", "PHONE-ONLY", "WITHDRAWN", "DNC", "STOP"}
    assert count(FollowUp) == 5


def test_a_returnee_who_never_had_consent_recorded_is_not_planned(orgs):
    make_returnee(orgs["caritas"], "UNRECORDED", return_date=returned(30), consent=False)
    db.session.commit()
    plan(TODAY)
    assert planned() == set()


def test_the_frame_clause_and_the_contactable_clause(orgs):
    ok = make_returnee(orgs["caritas"], "OK")
    dnc = make_returnee(orgs["caritas"], "DNC")
    withdrawn = make_returnee(orgs["caritas"], "WITHDRAWN")
    stop = make_returnee(orgs["caritas"], "STOP")
    unusable = make_returnee(orgs["caritas"], "UNUSABLE")
    no_consent = make_returnee(orgs["caritas"], "NO-CONSENT", consent=False)
    operations.give_consent(no_consent, [], "written")
    refused_later = make_returnee(orgs["caritas"], "REFUSED-LATER")
    operations.give_consent(refused_later, [], "written")
    make_returnee(orgs["caritas"], "NONE", preferred_channel="none")
    make_returnee(orgs["caritas"], "NO-PHONE", phone=None)
    db.session.commit()
    operations.set_do_not_contact(dnc, True, actor="test")
    operations.withdraw_consent(withdrawn, "verbal", actor="test")
    opt_out(stop, actor="test", via="sms")
    unusable.phone_unusable_at = datetime(2026, 9, 1, tzinfo=timezone.utc)
    db.session.commit()

    in_frame = set(db.session.scalars(select(Returnee.code).where(Returnee.frame_clause())))
    # REFUSED-LATER consented once and then refused: part of the population all the same, planned
    # and closed as 2.11. Someone who never consented (NO-CONSENT) is in no frame.
    assert in_frame == {"OK", "DNC", "WITHDRAWN", "STOP", "UNUSABLE", "REFUSED-LATER"}
    # contactable_clause is the SQL twin of may_contact, for any channel (consent, no refusal:
    # whatever the preferred channel or the number).
    contactable = set(db.session.scalars(select(Returnee.code).where(Returnee.contactable_clause())))
    assert contactable == {"OK", "UNUSABLE", "NONE", "NO-PHONE"}
    everyone = db.session.scalars(select(Returnee)).all()
    assert contactable == {r.code for r in everyone if r.may_contact("sms", without_number=True)
                           or r.may_contact("phone", without_number=True)}
    assert {r.code: r.refusal for r in everyone if r.refusal} == {
        "DNC": "do_not_contact", "WITHDRAWN": "withdrew", "STOP": "stop", "NO-CONSENT": "withdrew",
        "REFUSED-LATER": "withdrew"}
    assert ok.may_contact("sms") and not dnc.may_contact("sms") and not dnc.may_contact("phone")
    assert not unusable.may_contact("sms") and not unusable.may_contact("phone")
    assert unusable.may_contact("phone", without_number=True)


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
    assert (follow_up.state, follow_up.channel, follow_up.source, follow_up.inclusion_probability) == (
        "planned", "sms", "planned", 1.0)
    # A census draw and stratum: cohort 2026-09 (returned 1 September), GE x Caritas.
    assert (follow_up.sample_draw_id, follow_up.stratum_id) != (None, None)
    assert (follow_up.stratum.draw.kind, follow_up.stratum.draw.cohort, follow_up.stratum.country) == (
        "census", "2026-09", "GE")
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
    totals = (count(FollowUp), count(SampleDraw), count(SampleStratum), count(SampleFrameMember))
    # m1: a census draw (cohort 2026-09) and its stratum GE x Caritas. m6: one draw (cohort 2026-03;
    # cohorts with nobody in the frame are not drawn), one stratum: GE x Caritas, all 4 (fewer than
    # the minimum), its frame of 4 stored.
    assert totals == (7, 2, 2, 4)
    assert sorted(db.session.scalars(select(SampleDraw.kind))) == ["census", "sample"]

    second = plan(TODAY)
    assert second.created == {"m1": 0, "m6": 0, "m12": 0}
    assert second.draws == []
    assert (count(FollowUp), count(SampleDraw), count(SampleStratum), count(SampleFrameMember)) == totals
    assert second.lines() == ["m1: 0 follow-ups planned", "m12: 0 follow-ups planned", "m6: 0 follow-ups planned"]


def test_a_follow_up_already_there_is_left_alone(orgs):
    make_returnee(orgs["caritas"], "R", return_date=date(2026, 9, 1))
    db.session.commit()
    plan(TODAY)
    follow_up = db.session.scalar(select(FollowUp))
    follow_up.state, follow_up.disposition = "closed", "1.1"
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
    assert (draw.kind, draw.sequence, draw.frame_stored) == ("sample", 0, True)
    frame = db.session.execute(select(Returnee.id, Returnee.destination_country, Returnee.partner_id).where(
        Returnee.frame_clause(), Returnee.return_date.between(date(2026, 3, 1), date(2026, 3, 31)))).all()
    assert len(frame) == draw.frame_size
    # The stored frame is that frame, each member in the stratum of its case as drawn.
    stored_frame = db.session.execute(
        select(SampleFrameMember.returnee_id, SampleStratum.country, SampleStratum.partner_id)
        .join(SampleStratum, SampleStratum.id == SampleFrameMember.stratum_id)
        .where(SampleFrameMember.draw_id == draw.id)).all()
    assert sorted(map(tuple, stored_frame)) == sorted(map(tuple, frame))
    redrawn = draw_wave_sample([tuple(row) for row in frame], draw.fraction, draw.min_per_stratum, draw.seed)
    chosen = {rid for stratum in redrawn for rid in stratum.selected}
    stored = set(db.session.scalars(select(FollowUp.returnee_id).where(FollowUp.sample_draw_id == draw.id)))
    assert chosen == stored
    assert set(db.session.scalars(select(SampleFrameMember.returnee_id).where(
        SampleFrameMember.draw_id == draw.id, SampleFrameMember.selected))) == stored
    assert verify_draw(draw) == []
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
    seeds = list(db.session.scalars(select(SampleDraw.seed).where(SampleDraw.kind != "census")))
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


# -- refusers are in the frame, and closed as refusals without contact ---------------------------

T0 = datetime(2026, 10, 1, 8, 0, tzinfo=timezone.utc)  # noon in Tbilisi and Yerevan
REFUSALS = {"STOP": "stop", "WITHDRAWN": "withdrew", "DNC": "do_not_contact"}


def refuse(returnee: Returnee, how: str) -> None:
    if how == "STOP":
        opt_out(returnee, actor="test", via="sms")  # replied STOP: opted_out_at is set
    elif how == "WITHDRAWN":
        operations.withdraw_consent(returnee, "verbal", actor="test")
    else:
        operations.set_do_not_contact(returnee, True, actor="test")


def test_refusers_are_in_the_frames_planned_and_closed_as_refusals_without_contact(orgs):
    made = {}
    for how in (*REFUSALS, "OK"):
        # m1, a census: returned 1 September. m6, sampled: returned in March, in a stratum of
        # their own (AM x IOM, 4: fewer than the minimum, so all are drawn).
        made[f"M1-{how}"] = make_returnee(orgs["caritas"], f"M1-{how}", orgs["caritas-ge"],
                                          return_date=date(2026, 9, 1))
        made[f"M6-{how}"] = make_returnee(orgs["iom"], f"M6-{how}", destination_country="AM", phone="+37477123456",
                                          language="hy", return_date=date(2026, 3, 10))
    db.session.commit()
    for code, returnee in made.items():
        how = code.split("-", 1)[1]
        if how != "OK":
            refuse(returnee, how)
    db.session.commit()
    assert {code: r.refusal for code, r in made.items()} == {
        f"{w}-{how}": REFUSALS.get(how) for w in ("M1", "M6") for how in (*REFUSALS, "OK")}

    report = plan(TODAY)
    assert planned("m1") == {c for c in made if c.startswith("M1-")}
    assert planned("m6") == {c for c in made if c.startswith("M6-")}
    assert report.created == {"m1": 4, "m6": 4, "m12": 0}
    # In the sampled wave's stored frame, selected; in the census wave's stratum.
    frame = dict(db.session.execute(select(SampleFrameMember.returnee_id, SampleFrameMember.selected)
                                    .where(SampleFrameMember.wave == "m6")).all())
    assert frame == {made[f"M6-{how}"].id: True for how in (*REFUSALS, "OK")}
    census = db.session.scalar(select(SampleStratum).join(SampleDraw).where(SampleDraw.wave == "m1"))
    assert (census.frame_size, census.sample_size, census.probability) == (4, 4, 1.0)
    m6 = db.session.scalar(select(SampleStratum).join(SampleDraw).where(SampleDraw.wave == "m6"))
    assert (m6.frame_size, m6.sample_size, m6.probability) == (4, 4, 1.0)

    report = dispatch(T0)
    assert report.counts == {"close": 6, "invite": 2, "sent": 2}
    db.session.expire_all()
    for code, returnee in made.items():
        how = code.split("-", 1)[1]
        follow_up = db.session.scalar(select(FollowUp).where(FollowUp.returnee_id == returnee.id))
        trail = [(e.transition, e.from_state, e.to_state, e.actor, e.detail) for e in follow_up.events]
        if how == "OK":
            assert (follow_up.state, follow_up.disposition) == ("invited", None)
            continue
        assert (follow_up.state, follow_up.disposition, follow_up.closed_at, follow_up.attempts) == (
            "closed", "2.11", T0, 0), code
        assert trail == [("close", "planned", "closed", "scheduler", f"{REFUSALS[how]}: 2.11")], code
        assert follow_up.contacted_at is None and follow_up.invited_at is None
    # No message, no link, no phone task for any of them; the two others were invited.
    refusers = [r.id for c, r in made.items() if not c.endswith("-OK")]
    assert count(SmsMessage, SmsMessage.returnee_id.in_(refusers)) == 0
    assert count(SurveyLink, SurveyLink.returnee_id.in_(refusers)) == 0
    assert count(SmsMessage) == 2
    assert count(FollowUpEvent, FollowUpEvent.to_state == "phone_task") == 0
    # Later runs change nothing.
    for days in (3, 14, 60):
        dispatch(T0 + timedelta(days=days))
        plan(TODAY + timedelta(days=days))
    assert count(SmsMessage, SmsMessage.returnee_id.in_(refusers)) == 0
    assert count(FollowUp) == 8


# -- supplementary draws --------------------------------------------------------------------------

def test_a_late_import_into_a_drawn_cohort_gets_a_supplementary_draw(app, orgs):
    sampled_caseload(orgs)
    plan(TODAY)
    first = db.session.scalar(select(SampleDraw).where(SampleDraw.wave == "m6", SampleDraw.cohort == M6_COHORT))
    first_state = (first.id, first.seed, first.frame_size, first.sample_size, strata_of(first, orgs), sampled_ids())

    # A partner's late list, a week on: 12 more GE x Caritas and one in a stratum new to the cohort.
    late = [make_returnee(orgs["caritas"], f"LATE-{i}", orgs["caritas-ge"], return_date=date(2026, 3, 20 + i % 5))
            for i in range(12)]
    lone = make_returnee(orgs["iom"], "LATE-AM", destination_country="AM", phone="+37477123456", language="hy",
                         return_date=date(2026, 3, 25))
    db.session.commit()
    report = plan(TODAY + timedelta(days=7))
    assert f"draw m6 {M6_COHORT}: supplementary draw 6 of 13" in report.lines()
    assert report.created["m6"] == 6

    db.session.expire_all()
    draws = db.session.scalars(select(SampleDraw).where(SampleDraw.wave == "m6", SampleDraw.cohort == M6_COHORT)
                               .order_by(SampleDraw.sequence)).all()
    assert [(d.kind, d.sequence) for d in draws] == [("sample", 0), ("supplement", 1)]
    original, supplement = draws
    # The first draw is untouched; the supplement has its own seed, frame and probabilities.
    assert (original.id, original.seed, original.frame_size, original.sample_size, strata_of(original, orgs)) == \
        first_state[:5]
    assert supplement.seed is not None and supplement.seed != original.seed
    assert (supplement.frame_size, supplement.sample_size, supplement.fraction, supplement.min_per_stratum,
            supplement.frame_stored) == (13, 6, 0.2, 5, True)
    assert strata_of(supplement, orgs) == {("GE", "caritas"): (12, 5, 5 / 12), ("AM", "iom"): (1, 1, 1.0)}
    late_follow_ups = db.session.scalars(select(FollowUp).where(
        FollowUp.wave == "m6", FollowUp.returnee_id.in_([r.id for r in (*late, lone)]))).all()
    assert len(late_follow_ups) == 6 and {f.sample_draw_id for f in late_follow_ups} == {supplement.id}
    assert sorted(f.inclusion_probability for f in late_follow_ups) == [5 / 12] * 5 + [1.0]
    assert lone.id in {f.returnee_id for f in late_follow_ups}  # a stratum of 1 draws its 1
    assert sampled_ids() - {f.returnee_id for f in late_follow_ups} == first_state[5]

    # Nobody in the cohort's frame is left without a frame row or with probability 0.
    cohort = set(db.session.scalars(select(Returnee.id).where(
        Returnee.frame_clause(), Returnee.return_date.between(date(2026, 3, 1), date(2026, 3, 31)))))
    assert len(cohort) == 41 + 13
    members = db.session.execute(select(SampleFrameMember.returnee_id, SampleFrameMember.draw_id,
                                        SampleStratum.probability)
                                 .join(SampleStratum, SampleStratum.id == SampleFrameMember.stratum_id)
                                 .where(SampleFrameMember.wave == "m6")).all()
    assert sorted(m.returnee_id for m in members) == sorted(cohort)  # each exactly once
    assert {m.returnee_id for m in members if m.draw_id == supplement.id} == {r.id for r in (*late, lone)}
    assert all(m.probability > 0 for m in members)
    for follow_up in db.session.scalars(select(FollowUp).where(FollowUp.wave == "m6")):
        assert follow_up.inclusion_probability > 0
        assert follow_up.inclusion_probability == follow_up.stratum.probability
        assert follow_up.stratum.draw_id == follow_up.sample_draw_id
    assert verify_draw(original) == [] and verify_draw(supplement) == []

    # Planning again draws nothing more; the report shows the supplement.
    assert plan(TODAY + timedelta(days=8)).draws == []
    assert count(SampleDraw, SampleDraw.wave == "m6") == 2
    result = app.test_cli_runner().invoke(args=["sample-report", "m6", "--verify"])
    assert result.exit_code == 0, result.output
    words = line_with(result.output, M6_COHORT, "supplement", "AM", "iom")
    assert "1" in words and "1.0000" in words
    assert "verified: 2 draws reproduce exactly from their seeds and frames" in result.output


def test_a_response_imported_before_the_draw_is_part_of_it(app, orgs):
    made = [make_returnee(orgs["caritas"], f"R{i}", return_date=date(2026, 3, 10)) for i in range(3)]
    db.session.commit()
    # What `monitor import-responses` writes for a paper interview of a case not yet drawn.
    due, opens, closes = window(db.session.get(Wave, "m6"), made[0].return_date)
    db.session.add(FollowUp(returnee=made[0], wave="m6", due_date=due, window_opens=opens, window_closes=closes,
                            source="imported", state="closed", disposition="1.1", channel="sms",
                            inclusion_probability=None, next_action_at=None))
    db.session.commit()
    plan(TODAY)
    draw = db.session.scalar(select(SampleDraw).where(SampleDraw.wave == "m6"))
    imported = db.session.scalar(select(FollowUp).where(FollowUp.returnee_id == made[0].id))
    member = db.session.scalar(select(SampleFrameMember).where(SampleFrameMember.returnee_id == made[0].id))
    assert member is not None and member.selected  # a stratum of 3: everyone
    assert (imported.sample_draw_id, imported.stratum_id, imported.inclusion_probability) == (
        draw.id, member.stratum_id, 1.0)
    result = app.test_cli_runner().invoke(args=["sample-report", "m6", "--verify"])
    assert result.exit_code == 0, result.output


# -- sample-report --verify -------------------------------------------------------------------------

@pytest.mark.parametrize("tamper", ["flip a selected flag", "unselect a drawn case", "delete a frame row"])
def test_sample_report_verify_finds_a_tampered_frame(app, orgs, tamper):
    sampled_caseload(orgs)
    plan(TODAY)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["sample-report", "m6", "--verify"])
    assert result.exit_code == 0, result.output
    assert "verified: 1 draws reproduce exactly from their seeds and frames" in result.output
    assert "difference" not in result.output

    draw = db.session.scalar(select(SampleDraw).where(SampleDraw.wave == "m6"))
    ge_caritas = next(s for s in draw.strata if s.sample_size == 6)  # the 6-of-30 stratum
    members = db.session.scalars(select(SampleFrameMember).where(SampleFrameMember.stratum_id == ge_caritas.id)
                                 .order_by(SampleFrameMember.returnee_id)).all()
    if tamper == "flip a selected flag":
        member = next(m for m in members if not m.selected)
        member.selected = True
    elif tamper == "unselect a drawn case":
        member = next(m for m in members if m.selected)
        member.selected = False
    else:
        db.session.delete(next(m for m in members if not m.selected))
    db.session.commit()

    result = runner.invoke(args=["sample-report", "m6", "--verify"])
    assert result.exit_code == 1, result.output
    differences = [line for line in result.output.splitlines() if line.startswith("difference:")]
    assert differences and all(f"m6 {M6_COHORT}" in line for line in differences), result.output
    assert "verified" not in result.output
    # Without --verify the report still runs.
    assert runner.invoke(args=["sample-report", "m6"]).exit_code == 0


# -- strata are frozen as drawn ---------------------------------------------------------------------

def test_a_case_edited_after_the_draw_keeps_its_stratum(app, orgs):
    made = sampled_caseload(orgs)
    made["M1"] = make_returnee(orgs["iom"], "M1", orgs["iom-ge"], return_date=date(2026, 9, 1))
    db.session.commit()
    plan(TODAY)
    edited = {"m6": made["GE-I-0"], "m1": made["M1"]}  # GE x IOM in both waves
    before = {}
    for wave, returnee in edited.items():
        follow_up = db.session.scalar(select(FollowUp).where(FollowUp.returnee_id == returnee.id,
                                                             FollowUp.wave == wave))
        before[wave] = (follow_up.id, follow_up.stratum_id, follow_up.sample_draw_id,
                        follow_up.inclusion_probability)
        assert (follow_up.stratum.country, follow_up.stratum.partner_id) == ("GE", orgs["iom"].id)
    strata_before = {s.id: (s.country, s.partner_id, s.frame_size, s.sample_size, s.probability)
                     for s in db.session.scalars(select(SampleStratum))}

    # The case moves: another destination country, another partner.
    for returnee in edited.values():
        changed = operations.update_case(returnee, {"destination_country": "AM", "partner_id": orgs["caritas"].id,
                                                    "local_partner_id": orgs["caritas-am"].id}, actor="test")
        assert set(changed) == {"destination_country", "partner_id", "local_partner_id"}
    db.session.commit()
    plan(TODAY + timedelta(days=1))

    db.session.expire_all()
    for wave, returnee in edited.items():
        follow_up = db.session.scalar(select(FollowUp).where(FollowUp.returnee_id == returnee.id,
                                                             FollowUp.wave == wave))
        assert (follow_up.id, follow_up.stratum_id, follow_up.sample_draw_id,
                follow_up.inclusion_probability) == before[wave]
        assert (follow_up.stratum.country, follow_up.stratum.partner_id) == ("GE", orgs["iom"].id)
        assert returnee.destination_country == "AM" and returnee.partner_id == orgs["caritas"].id
    member = db.session.scalar(select(SampleFrameMember).where(SampleFrameMember.returnee_id == made["GE-I-0"].id))
    assert member.stratum_id == before["m6"][1]
    assert {s.id: (s.country, s.partner_id, s.frame_size, s.sample_size, s.probability)
            for s in db.session.scalars(select(SampleStratum))} == strata_before
    assert count(FollowUp, FollowUp.returnee_id.in_([r.id for r in edited.values()])) == 2
    # The stored draws still reproduce: the frame is the frame as drawn, not the cases as they are.
    for wave in ("m6", "m1"):
        result = app.test_cli_runner().invoke(args=["sample-report", wave, "--verify"])
        assert result.exit_code == 0, result.output


# -- windows missed while planning did not run --------------------------------------------------

def missed_caseload(orgs) -> dict[str, Returnee]:
    made = {"m1": make_returnee(orgs["caritas"], "M1", return_date=date(2026, 9, 1)),  # m1 window: 1-31 October
            "m6": make_returnee(orgs["caritas"], "M6", return_date=date(2026, 3, 1))}  # m6: 30 August - 14 October
    db.session.commit()
    return made


def planned_through() -> dict[str, date | None]:
    db.session.expire_all()
    return dict(db.session.execute(select(Wave.code, Wave.planned_through)).all())


def test_windows_that_opened_and_closed_while_planning_did_not_run_are_planned_and_closed(orgs):
    made = missed_caseload(orgs)
    plan(date(2026, 8, 1))  # the last run before the scheduler went down for three months
    assert count(FollowUp) == 0
    assert planned_through() == {"m1": date(2026, 8, 1), "m6": date(2026, 8, 1), "m12": date(2026, 8, 1)}

    back = date(2026, 11, 10)  # both windows opened and closed meanwhile
    report = plan(back)
    assert planned("m1") == {"M1"} and planned("m6") == {"M6"}
    assert report.created == {"m1": 1, "m6": 1, "m12": 0}
    assert f"draw m6 {M6_COHORT}: 1 of 1" in report.lines()
    assert planned_through() == {"m1": back, "m6": back, "m12": back}
    follow_ups = {f.wave: f for f in db.session.scalars(select(FollowUp))}
    assert follow_ups["m1"].window_closes == date(2026, 10, 31)
    assert follow_ups["m6"].window_closes == date(2026, 10, 14)

    now = datetime(2026, 11, 10, 8, 0, tzinfo=timezone.utc)
    assert dispatch(now).counts == {"close": 2}
    db.session.expire_all()
    for wave, returnee in made.items():
        follow_up = db.session.scalar(select(FollowUp).where(FollowUp.returnee_id == returnee.id))
        assert (follow_up.wave, follow_up.state, follow_up.disposition, follow_up.closed_at) == (
            wave, "closed", "2.20", now)
        assert [(e.transition, e.from_state, e.to_state, e.detail) for e in follow_up.events] == [
            ("close", "planned", "closed", "window_closed: 2.20")]
    assert count(SmsMessage) == 0 and count(SurveyLink) == 0
    # Planned once: the next run does not plan them again.
    assert plan(back + timedelta(days=1)).created == {"m1": 0, "m6": 0, "m12": 0}


def test_a_first_run_does_not_plan_the_history(orgs):
    missed_caseload(orgs)
    assert planned_through() == {"m1": None, "m6": None, "m12": None}
    back = date(2026, 11, 10)
    report = plan(back)
    assert report.created == {"m1": 0, "m6": 0, "m12": 0} and report.draws == []
    assert count(FollowUp) == 0 and count(SampleDraw) == 0 and count(SampleFrameMember) == 0
    assert planned_through() == {"m1": back, "m6": back, "m12": back}
    plan(back + timedelta(days=1))
    assert count(FollowUp) == 0


def test_planned_through_never_goes_back(orgs):
    missed_caseload(orgs)
    plan(date(2026, 10, 5))
    plan(date(2026, 10, 1))  # a run with an earlier date (a clock set back, a manual --today)
    assert planned_through() == {"m1": date(2026, 10, 5), "m6": date(2026, 10, 5), "m12": date(2026, 10, 5)}
    assert planned("m1") == {"M1"} and planned("m6") == {"M6"}


def test_a_wave_switched_off_and_on_again_does_not_plan_the_time_it_was_off(orgs):
    make_returnee(orgs["caritas"], "OFF", return_date=date(2026, 9, 1))  # m1 window: October, while m1 is off
    db.session.commit()
    plan(date(2026, 9, 1))
    db.session.get(Wave, "m1").active = False
    db.session.commit()
    for day in (date(2026, 10, 1), date(2026, 10, 15), date(2026, 11, 1), date(2026, 11, 20)):
        plan(day)  # the scheduler runs all along; m1 is switched off
    db.session.get(Wave, "m1").active = True
    db.session.commit()
    plan(date(2026, 12, 1))
    assert planned("m1") == set()


# -- census waves ---------------------------------------------------------------------------------

def test_census_strata_per_cohort_country_and_partner(app, orgs):
    def add(code, partner, local, returned_on, **values):
        make_returnee(orgs[partner], code, orgs[local] if local else None, return_date=returned_on, **values)

    for i in range(2):
        add(f"AUG-GE-C-{i}", "caritas", "caritas-ge", date(2026, 8, 25))  # window 24 September - 24 October
    for i in range(3):
        add(f"SEP-GE-C-{i}", "caritas", "caritas-ge", date(2026, 9, 1))
    add("SEP-GE-I-0", "iom", "iom-ge", date(2026, 9, 1))
    for i in range(2):
        add(f"SEP-AM-C-{i}", "caritas", "caritas-am", date(2026, 9, 1), destination_country="AM",
            phone="+37477123456", language="hy")
    db.session.commit()
    plan(TODAY)

    def census() -> dict[tuple[str, str, str], tuple[int, int, float]]:
        db.session.expire_all()
        codes = {o.id: code for code, o in orgs.items()}
        found = {}
        for draw in db.session.scalars(select(SampleDraw).where(SampleDraw.wave == "m1")):
            assert (draw.kind, draw.sequence, draw.seed, draw.fraction) == ("census", 0, None, 1.0)
            assert draw.frame_size == draw.sample_size == sum(s.frame_size for s in draw.strata)
            for s in draw.strata:
                followed = count(FollowUp, FollowUp.stratum_id == s.id)
                assert s.frame_size == s.sample_size == followed, (draw.cohort, s.country)
                found[(draw.cohort, s.country, codes[s.partner_id])] = (s.frame_size, s.sample_size, s.probability)
        return found

    assert census() == {("2026-08", "GE", "caritas"): (2, 2, 1.0), ("2026-09", "GE", "caritas"): (3, 3, 1.0),
                        ("2026-09", "GE", "iom"): (1, 1, 1.0), ("2026-09", "AM", "caritas"): (2, 2, 1.0)}
    for follow_up in db.session.scalars(select(FollowUp).where(FollowUp.wave == "m1")):
        returnee = follow_up.returnee
        assert follow_up.inclusion_probability == 1.0
        assert follow_up.stratum.draw.cohort == returnee.return_date.strftime("%Y-%m")
        assert (follow_up.stratum.country, follow_up.stratum.partner_id) == (
            returnee.destination_country, returnee.partner_id)
        assert follow_up.sample_draw_id == follow_up.stratum.draw_id
    assert count(SampleFrameMember) == 0  # a census keeps no frame apart from its follow-ups

    # A late import grows its stratum; no second census draw for the cohort.
    add("SEP-GE-C-LATE", "caritas", "caritas-ge", date(2026, 9, 5))
    db.session.commit()
    plan(TODAY + timedelta(days=5))
    grown = census()
    assert grown[("2026-09", "GE", "caritas")] == (4, 4, 1.0)
    assert count(SampleDraw, SampleDraw.wave == "m1") == 2

    runner = app.test_cli_runner()
    result = runner.invoke(args=["sample-report", "m1", "--verify"])
    assert result.exit_code == 0, result.output
    assert "census: everyone, probability 1" in result.output
    words = line_with(result.output, "2026-09", "census", "GE", "caritas")
    assert "4" in words and "1.0000" in words
    # A census stratum whose count disagrees with its follow-ups is a difference.
    stratum = db.session.scalar(select(SampleStratum).where(SampleStratum.frame_size == 4))
    stratum.frame_size = 5
    db.session.commit()
    result = runner.invoke(args=["sample-report", "m1", "--verify"])
    assert result.exit_code == 1 and "difference: m1 2026-09: census stratum GE" in result.output


# -- a wave is data -------------------------------------------------------------------------------

def test_a_new_wave_row_is_planned_and_sampled_with_no_code_change(app, orgs):
    db.session.add(Wave(code="m24", due_days=730, opens_days_before=0, closes_days_after=45, sampled=True,
                        fraction=0.5, min_per_stratum=2, active=True))
    db.session.commit()
    # Returned in September 2024: two years on, the m24 windows are open on TODAY (the others closed).
    made = [make_returnee(orgs["caritas"], f"GE-C-{i}", orgs["caritas-ge"], return_date=date(2024, 9, 1 + i))
            for i in range(10)]
    made.append(make_returnee(orgs["caritas"], "AM-C-0", orgs["caritas-am"], destination_country="AM",
                              phone="+37477123456", language="hy", return_date=date(2024, 9, 15)))
    db.session.commit()

    report = plan(TODAY)
    assert report.created == {"m1": 0, "m6": 0, "m12": 0, "m24": 6}
    assert "draw m24 2024-09: 6 of 11" in report.lines()
    draw = db.session.scalar(select(SampleDraw).where(SampleDraw.wave == "m24"))
    assert (draw.kind, draw.cohort, draw.fraction, draw.min_per_stratum, draw.frame_size, draw.sample_size) == (
        "sample", "2024-09", 0.5, 2, 11, 6)
    assert strata_of(draw, orgs) == {("GE", "caritas"): (10, 5, 0.5), ("AM", "caritas"): (1, 1, 1.0)}
    follow_ups = db.session.scalars(select(FollowUp).where(FollowUp.wave == "m24")).all()
    by_id = {r.id: r for r in made}
    for follow_up in follow_ups:
        assert follow_up.due_date == by_id[follow_up.returnee_id].return_date + timedelta(days=730)
        assert follow_up.window_closes == follow_up.due_date + timedelta(days=45)
    assert count(SampleFrameMember, SampleFrameMember.wave == "m24") == 11
    assert planned_through()["m24"] == TODAY

    result = app.test_cli_runner().invoke(args=["sample-report", "m24", "--verify"])
    assert result.exit_code == 0, result.output
    # ... and dispatched like any other.
    report = dispatch(T0)
    assert report.counts == {"invite": 6, "sent": 6}
    assert {m.follow_up_id for m in db.session.scalars(select(SmsMessage))} == {f.id for f in follow_ups}
