"""Planning: which returnees get a follow-up for which wave, the draws, and their frames.

Every wave is drawn per cohort (the month of return) and the draw is stored: a sampled wave's
draw keeps its seed and its whole frame (`sample_frame`: who was in it, in which stratum,
whether selected), so `monitor sample-report WAVE --verify` can redraw it; a census wave (not
sampled, the one-month check) keeps strata cohort x country x partner with probability 1 that
grow as its follow-ups are planned. Each follow-up keeps its stratum and probability as drawn.

The frame of a wave is everyone who consented to follow-up (`Returnee.frame_clause`), refusers
included (their follow-ups close as 2.11 without contact), whose window opened while planning
covered it: `waves.planned_through` remembers the last day covered, so windows that opened and
closed while the scheduler was down are still planned (and close as 2.20). Returnees imported
into a cohort after its draw get a supplementary draw of their own.

Idempotent: a follow-up is unique per (returnee, wave), a frame membership per (wave, returnee)
and a draw per (wave, cohort, sequence), so running `plan` twice, or from two processes, does
the same work once. Set-based: the same statements per wave and cohort whatever the caseload,
and the new rows in bulk inserts (a statement per thousand rows or so): bench/planning.py
measures both at two sizes.
"""
from __future__ import annotations

import secrets
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import exists, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from monitor.extensions import conflict_insert, db
from monitor.models import FollowUp, Returnee, SampleDraw, SampleFrameMember, SampleStratum, Wave
from scheduler.sampling import draw_wave_sample

_INSERT_BATCH = 5000


@dataclass
class PlanReport:
    created: dict[str, int] = field(default_factory=dict)  # wave -> follow-ups created
    draws: list[str] = field(default_factory=list)  # "m6 2026-05: 12 of 60"

    def lines(self) -> list[str]:
        lines = [f"{wave}: {count} follow-ups planned" for wave, count in sorted(self.created.items())]
        return lines + [f"draw {draw}" for draw in self.draws]


def window(wave: Wave, return_date: date) -> tuple[date, date, date]:
    due = return_date + timedelta(days=wave.due_days)
    return due, due - timedelta(days=wave.opens_days_before), due + timedelta(days=wave.closes_days_after)


def _return_dates_to_plan(wave: Wave, today: date) -> tuple[date, date]:
    """The return dates whose window is open today, or opened since the last day planning
    covered (closed again or not)."""
    first = today - timedelta(days=wave.due_days + wave.closes_days_after)
    last = today - timedelta(days=wave.due_days - wave.opens_days_before)
    if wave.planned_through is not None and wave.planned_through < today:
        first = min(first, wave.planned_through + timedelta(days=1 - wave.due_days + wave.opens_days_before))
    return first, last


def _not_planned(wave_code: str):
    return ~exists().where(FollowUp.returnee_id == Returnee.id, FollowUp.wave == wave_code)


def _insert_ignoring_duplicates(table, rows: list[dict], keys: list[str], returning=None) -> int:
    """Insert rows; one already there (another planner was quicker) is left alone."""
    if not rows:
        return 0
    make = conflict_insert()
    created = 0
    for start in range(0, len(rows), _INSERT_BATCH):
        chunk = rows[start:start + _INSERT_BATCH]
        if make is None:
            db.session.execute(insert(table), chunk)
            created += len(chunk)
        else:
            # RETURNING counts only the rows really inserted, in one batched statement.
            stmt = make(table).on_conflict_do_nothing(index_elements=keys)
            result = db.session.execute(stmt.returning(returning if returning is not None else table.c[keys[0]]), chunk)
            created += len(result.all())
    return created


def _follow_up_row(wave: Wave, returnee_id: int, return_date: date, channel: str, probability: float,
                   draw_id: int, stratum_id: int, refuses: bool = False) -> dict:
    due, opens, closes = window(wave, return_date)
    # A refuser's follow-up is closed as 2.11 by the next dispatch, not left waiting for its window.
    look_at = datetime.combine(return_date if refuses else opens, time(0), tzinfo=timezone.utc)  # a past moment: at once
    return {"returnee_id": returnee_id, "wave": wave.code, "due_date": due, "window_opens": opens,
            "window_closes": closes, "channel": channel, "source": "planned", "state": "planned",
            "inclusion_probability": probability, "sample_draw_id": draw_id, "stratum_id": stratum_id,
            "reminders_sent": 0, "attempts": 0, "version": 1, "created_at": datetime.now(timezone.utc),
            "next_action_at": look_at}


def plan(today: date) -> PlanReport:
    report = PlanReport()
    for wave in db.session.scalars(select(Wave).order_by(Wave.due_days)).all():
        if wave.active:
            plan_wave = _plan_sampled if wave.sampled else _plan_census
            report.created[wave.code] = plan_wave(wave, today, report)
        # An inactive wave's time moves on too: switched on again, it does not plan the months
        # it was off as if the scheduler had been down.
        if wave.planned_through is None or wave.planned_through < today:
            wave.planned_through = today
        db.session.commit()
    return report


def cohort_of(day: date) -> str:
    return day.strftime("%Y-%m")


def _months(first: date, last: date) -> list[str]:
    months, day = [], first.replace(day=1)
    while day <= last:
        months.append(cohort_of(day))
        day = (day + timedelta(days=32)).replace(day=1)
    return months


# -- census waves ---------------------------------------------------------------------------------

def _plan_census(wave: Wave, today: date, report: PlanReport) -> int:
    """Everyone in the frame gets the wave, probability 1, in the stratum cohort x country x partner."""
    if db.engine.dialect.name == "postgresql":
        # Two planners at once would each count a stratum without the other's rows: one at a time.
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(f"plan:{wave.code}".encode())})
    first, last = _return_dates_to_plan(wave, today)
    rows = db.session.execute(
        select(Returnee.id, Returnee.return_date, Returnee.preferred_channel, Returnee.destination_country,
               Returnee.partner_id, Returnee.refusal_clause().label("refuses"))
        .where(Returnee.frame_clause(), Returnee.return_date.between(first, last), _not_planned(wave.code))).all()
    if not rows:
        return 0
    strata = _census_strata(wave, {(cohort_of(r.return_date), r.destination_country, r.partner_id) for r in rows})
    created = _insert_ignoring_duplicates(FollowUp.__table__, [
        _follow_up_row(wave, r.id, r.return_date, r.preferred_channel, 1.0,
                       *strata[(cohort_of(r.return_date), r.destination_country, r.partner_id)], refuses=r.refuses)
        for r in rows],
        ["returnee_id", "wave"], returning=FollowUp.__table__.c.id)
    _count_census(wave, {draw_id for draw_id, _stratum in strata.values()})
    return created


def _census_strata(wave: Wave, keys: set[tuple[str, str, int]]) -> dict[tuple[str, str, int], tuple[int, int]]:
    """(cohort, country, partner) -> (draw id, stratum id), made when missing."""
    cohorts = sorted({cohort for cohort, _c, _p in keys})
    _insert_ignoring_duplicates(SampleDraw.__table__, [
        {"wave": wave.code, "cohort": cohort, "kind": "census", "sequence": 0, "seed": None, "fraction": 1.0,
         "min_per_stratum": 0, "frame_stored": True, "frame_size": 0, "sample_size": 0,
         "drawn_at": datetime.now(timezone.utc)} for cohort in cohorts], ["wave", "cohort", "sequence"],
        returning=SampleDraw.__table__.c.id)
    draws = dict(db.session.execute(select(SampleDraw.cohort, SampleDraw.id).where(
        SampleDraw.wave == wave.code, SampleDraw.cohort.in_(cohorts), SampleDraw.kind == "census")).all())
    _insert_ignoring_duplicates(SampleStratum.__table__, [
        {"draw_id": draws[cohort], "country": country, "partner_id": partner_id, "frame_size": 0, "sample_size": 0,
         "probability": 1.0} for cohort, country, partner_id in sorted(keys)],
        ["draw_id", "country", "partner_id"], returning=SampleStratum.__table__.c.id)
    by_draw = {draw_id: cohort for cohort, draw_id in draws.items()}
    found = {}
    for stratum_id, draw_id, country, partner_id in db.session.execute(
            select(SampleStratum.id, SampleStratum.draw_id, SampleStratum.country, SampleStratum.partner_id)
            .where(SampleStratum.draw_id.in_(list(by_draw)))):
        found[(by_draw[draw_id], country, partner_id)] = (draw_id, stratum_id)
    return found


def _count_census(wave: Wave, draw_ids: set[int]) -> None:
    """A census stratum's N_h and n_h are its follow-ups: recounted in two set-based updates."""
    counted = (select(func.count()).select_from(FollowUp).where(FollowUp.stratum_id == SampleStratum.id)
               .scalar_subquery())
    db.session.execute(update(SampleStratum).where(SampleStratum.draw_id.in_(draw_ids))
                       .values(frame_size=counted, sample_size=counted).execution_options(synchronize_session=False))
    total = (select(func.coalesce(func.sum(SampleStratum.frame_size), 0)).where(SampleStratum.draw_id == SampleDraw.id)
             .scalar_subquery())
    db.session.execute(update(SampleDraw).where(SampleDraw.id.in_(draw_ids))
                       .values(frame_size=total, sample_size=total).execution_options(synchronize_session=False))


# -- sampled waves --------------------------------------------------------------------------------

def _plan_sampled(wave: Wave, today: date, report: PlanReport) -> int:
    """Draw each cohort once when the first of its windows opens, and again (a supplementary
    draw) for the returnees imported into it since."""
    first, last = _return_dates_to_plan(wave, today)
    created = 0
    for cohort in _months(first, last):
        start = date.fromisoformat(f"{cohort}-01")
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        stmt = (select(Returnee.id, Returnee.destination_country, Returnee.partner_id, Returnee.return_date,
                       Returnee.preferred_channel, Returnee.refusal_clause().label("refuses"))
                .where(Returnee.frame_clause(), Returnee.return_date.between(max(start, first), end),
                       ~exists().where(SampleFrameMember.wave == wave.code,
                                       SampleFrameMember.returnee_id == Returnee.id),
                       # drawn already otherwise (an import that gave its stratum): not twice
                       ~exists().where(FollowUp.returnee_id == Returnee.id, FollowUp.wave == wave.code,
                                       FollowUp.sample_draw_id.is_not(None))))
        # A draw made before frames were stored (migration 0005) kept only whom it selected: the
        # others were in its frame all the same; only returnees imported after it are late.
        legacy = db.session.scalar(select(func.max(SampleDraw.drawn_at)).where(
            SampleDraw.wave == wave.code, SampleDraw.cohort == cohort, ~SampleDraw.frame_stored,
            SampleDraw.kind.in_(("sample", "supplement"))))
        if legacy is not None:
            stmt = stmt.where(Returnee.created_at > legacy)
        frame = db.session.execute(stmt).all()
        if not frame:
            # Nobody to draw from (yet): no draw, or a caseload imported later (a new
            # installation, a partner's late list) would never be sampled for this cohort.
            continue
        created += _draw(wave, cohort, frame, report)
    return created


def _draw(wave: Wave, cohort: str, frame, report: PlanReport) -> int:
    sequence = db.session.scalar(select(func.coalesce(func.max(SampleDraw.sequence) + 1, 0)).where(
        SampleDraw.wave == wave.code, SampleDraw.cohort == cohort))
    first_draw = db.session.scalar(select(SampleDraw).where(
        SampleDraw.wave == wave.code, SampleDraw.cohort == cohort, SampleDraw.kind == "sample"))
    # A supplement draws as the cohort's draw did, whatever the plan says today.
    fraction, minimum = ((first_draw.fraction, first_draw.min_per_stratum) if first_draw is not None
                         else (wave.fraction, wave.min_per_stratum))
    seed = secrets.randbits(62)
    strata = draw_wave_sample([(r.id, r.destination_country, r.partner_id) for r in frame], fraction, minimum, seed)
    draw = SampleDraw(wave=wave.code, cohort=cohort, kind="sample" if first_draw is None else "supplement",
                      sequence=sequence, seed=seed, fraction=fraction, min_per_stratum=minimum,
                      frame_stored=True, frame_size=len(frame), sample_size=sum(s.sample for s in strata),
                      strata=[SampleStratum(country=s.country, partner_id=s.partner_id, frame_size=s.frame,
                                            sample_size=s.sample, probability=s.probability) for s in strata])
    db.session.add(draw)
    try:
        db.session.flush()
        by_id = {r.id: r for r in frame}
        by_stratum: dict[tuple[str, int], list[int]] = {}
        for r in frame:
            by_stratum.setdefault((r.destination_country, r.partner_id), []).append(r.id)
        members, rows = [], []
        for drawn, stored in zip(strata, draw.strata):
            selected = set(drawn.selected)
            for returnee_id in sorted(by_stratum[(drawn.country, drawn.partner_id)]):
                members.append({"wave": wave.code, "returnee_id": returnee_id, "draw_id": draw.id,
                                "stratum_id": stored.id, "selected": returnee_id in selected})
            for returnee_id in drawn.selected:
                returnee = by_id[returnee_id]
                rows.append(_follow_up_row(wave, returnee_id, returnee.return_date, returnee.preferred_channel,
                                           stored.probability, draw.id, stored.id, refuses=returnee.refuses))
        for start in range(0, len(members), _INSERT_BATCH):
            db.session.execute(insert(SampleFrameMember.__table__), members[start:start + _INSERT_BATCH])
        created = _insert_ignoring_duplicates(FollowUp.__table__, rows, ["returnee_id", "wave"],
                                              returning=FollowUp.__table__.c.id)
        # A selected returnee whose follow-up an import made before the draw: it joins the draw.
        for drawn, stored in zip(strata, draw.strata):
            if drawn.selected:
                db.session.execute(update(FollowUp).where(
                    FollowUp.wave == wave.code, FollowUp.returnee_id.in_(drawn.selected),
                    FollowUp.sample_draw_id.is_(None)).values(
                    sample_draw_id=draw.id, stratum_id=stored.id, inclusion_probability=stored.probability)
                    .execution_options(synchronize_session=False))
        db.session.commit()
    except IntegrityError:  # another planner drew these returnees a moment ago: its draw stands
        db.session.rollback()
        return 0
    label = "supplementary draw " if first_draw is not None else ""
    report.draws.append(f"{wave.code} {cohort}: {label}{draw.sample_size} of {draw.frame_size}")
    return created


# -- verification ---------------------------------------------------------------------------------

def verify_draw(draw: SampleDraw) -> list[str]:
    """Redraw a stored draw from its seed and stored frame, and compare with what is stored (the
    frame's selected flags, the strata, the follow-ups). Returns the differences, [] if none."""
    where = f"{draw.wave} {draw.cohort}" + (f" #{draw.sequence}" if draw.sequence else "")
    if draw.kind == "census":
        counts = dict(db.session.execute(select(FollowUp.stratum_id, func.count()).where(
            FollowUp.sample_draw_id == draw.id).group_by(FollowUp.stratum_id)).all())
        problems = [f"{where}: census stratum {s.country}/{s.partner_id} records {s.frame_size}, "
                    f"has {counts.get(s.id, 0)} follow-ups" for s in draw.strata if s.frame_size != counts.get(s.id, 0)]
        off = db.session.scalar(select(func.count()).select_from(FollowUp).where(
            FollowUp.sample_draw_id == draw.id, FollowUp.inclusion_probability != 1.0))
        return problems + ([f"{where}: {off} census follow-ups without probability 1"] if off else [])
    if not draw.frame_stored:
        return []  # drawn before frames were stored (migration 0005): nothing to redraw from
    strata = {s.id: s for s in draw.strata}
    members = db.session.execute(select(SampleFrameMember.returnee_id, SampleFrameMember.stratum_id,
                                        SampleFrameMember.selected)
                                 .where(SampleFrameMember.draw_id == draw.id)).all()
    frame = [(m.returnee_id, strata[m.stratum_id].country, strata[m.stratum_id].partner_id) for m in members]
    redrawn = {(s.country, s.partner_id): s for s in draw_wave_sample(frame, draw.fraction, draw.min_per_stratum,
                                                                       draw.seed)}
    problems = []
    stored_selected = {m.returnee_id for m in members if m.selected}
    wanted = {rid for s in redrawn.values() for rid in s.selected}
    if stored_selected != wanted:
        problems.append(f"{where}: the frame marks {len(stored_selected - wanted)} selected that the redraw does "
                        f"not select, and leaves out {len(wanted - stored_selected)} it selects")
    for stratum in strata.values():
        again = redrawn.get((stratum.country, stratum.partner_id))
        found = (again.frame, again.sample, round(again.probability, 12)) if again else (0, 0, 0)
        stored = (stratum.frame_size, stratum.sample_size, round(stratum.probability, 12))
        if found != stored:
            problems.append(f"{where}: stratum {stratum.country}/{stratum.partner_id} stores N, n, p = {stored}, "
                            f"the redraw gives {found}")
    if len(members) != draw.frame_size:
        problems.append(f"{where}: the draw records a frame of {draw.frame_size}, {len(members)} are stored")
    followed = set(db.session.scalars(select(FollowUp.returnee_id).where(FollowUp.sample_draw_id == draw.id)))
    if followed != wanted:
        problems.append(f"{where}: {len(followed - wanted)} follow-ups not in the redraw, "
                        f"{len(wanted - followed)} selected without a follow-up")
    return problems
