"""Planning: which returnees get a follow-up for which wave, and the sampled waves' draws.

Idempotent: a follow-up is unique per (returnee, wave) and a draw per (wave, cohort), so running
`plan` twice, or from two processes, does the same work once. Set-based: one query per wave and
cohort, bulk inserts, no query per returnee.
"""
from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import and_, exists, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.dialects import postgresql, sqlite

from monitor.extensions import db
from monitor.models import FollowUp, Returnee, SampleDraw, SampleStratum, Wave
from scheduler.sampling import draw_wave_sample

_INSERT_BATCH = 5000


@dataclass
class PlanReport:
    created: dict[str, int] = field(default_factory=dict)  # wave -> follow-ups created
    draws: list[str] = field(default_factory=list)  # "m6 2026-05: 12 of 60"

    def lines(self) -> list[str]:
        lines = [f"{wave}: {count} follow-ups planned" for wave, count in sorted(self.created.items())]
        return lines + [f"draw {draw}" for draw in self.draws]


def eligible_clause():
    """Who may be planned: consent given and not withdrawn, not do-not-contact, a channel and a
    phone number. The dispatcher checks again before every contact."""
    return and_(Returnee.contactable_clause(), Returnee.preferred_channel.in_(("sms", "phone")),
                Returnee.phone_lookup.is_not(None))


def window(wave: Wave, return_date: date) -> tuple[date, date, date]:
    due = return_date + timedelta(days=wave.due_days)
    return due, due - timedelta(days=wave.opens_days_before), due + timedelta(days=wave.closes_days_after)


def _return_dates_open_on(wave: Wave, today: date) -> tuple[date, date]:
    """The return dates whose window for this wave is open on `today`."""
    return (today - timedelta(days=wave.due_days + wave.closes_days_after),
            today - timedelta(days=wave.due_days - wave.opens_days_before))


def _not_planned(wave_code: str):
    return ~exists().where(FollowUp.returnee_id == Returnee.id, FollowUp.wave == wave_code)


def _insert_ignoring_duplicates(rows: list[dict]) -> int:
    """Insert follow-ups; one already there (another planner was quicker) is left alone."""
    if not rows:
        return 0
    dialect = db.engine.dialect.name
    make = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    created = 0
    for start in range(0, len(rows), _INSERT_BATCH):
        chunk = rows[start:start + _INSERT_BATCH]
        if make is None:
            db.session.execute(insert(FollowUp.__table__), chunk)
            created += len(chunk)
        else:
            # RETURNING counts only the rows really inserted, in one batched statement.
            result = db.session.execute(make(FollowUp.__table__).on_conflict_do_nothing(
                index_elements=["returnee_id", "wave"]).returning(FollowUp.__table__.c.id), chunk)
            created += len(result.all())
    return created


def _row(wave: Wave, returnee_id: int, return_date: date, channel: str, probability: float = 1.0,
         draw_id: int | None = None) -> dict:
    due, opens, closes = window(wave, return_date)
    return {"returnee_id": returnee_id, "wave": wave.code, "due_date": due, "window_opens": opens,
            "window_closes": closes, "channel": channel, "state": "planned", "inclusion_probability": probability,
            "sample_draw_id": draw_id, "reminders_sent": 0, "attempts": 0, "version": 1,
            "next_action_at": datetime.combine(opens, time(0), tzinfo=timezone.utc)}


def plan(today: date) -> PlanReport:
    report = PlanReport()
    for wave in db.session.scalars(select(Wave).where(Wave.active).order_by(Wave.due_days)):
        if wave.sampled:
            report.created[wave.code] = _plan_sampled(wave, today, report)
        else:
            report.created[wave.code] = _plan_everyone(wave, today)
        db.session.commit()
    return report


def _plan_everyone(wave: Wave, today: date) -> int:
    first, last = _return_dates_open_on(wave, today)
    rows = db.session.execute(
        select(Returnee.id, Returnee.return_date, Returnee.preferred_channel)
        .where(eligible_clause(), Returnee.return_date.between(first, last), _not_planned(wave.code))).all()
    return _insert_ignoring_duplicates([_row(wave, *row) for row in rows])


def _months(first: date, last: date) -> list[str]:
    months, day = [], first.replace(day=1)
    while day <= last:
        months.append(day.strftime("%Y-%m"))
        day = (day + timedelta(days=32)).replace(day=1)
    return months


def _plan_sampled(wave: Wave, today: date, report: PlanReport) -> int:
    """Draw each cohort (month of return) once, when the first of its windows opens and it has
    eligible returnees."""
    first, last = _return_dates_open_on(wave, today)
    cohorts = _months(first, last)
    done = set(db.session.scalars(select(SampleDraw.cohort).where(SampleDraw.wave == wave.code,
                                                                  SampleDraw.cohort.in_(cohorts))))
    created = 0
    for cohort in cohorts:
        if cohort in done:
            continue
        start = date.fromisoformat(f"{cohort}-01")
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        frame = db.session.execute(
            select(Returnee.id, Returnee.destination_country, Returnee.partner_id, Returnee.return_date,
                   Returnee.preferred_channel)
            # The frame: the cohort's eligible returnees whose window has not closed yet.
            .where(eligible_clause(), Returnee.return_date.between(max(start, first), end))).all()
        if not frame:
            # Nobody to draw from (yet): record no draw, or a caseload imported later (a new
            # installation, a partner's late list) would never be sampled for this cohort.
            continue
        seed = secrets.randbits(62)
        strata = draw_wave_sample([(r.id, r.destination_country, r.partner_id) for r in frame],
                                  wave.fraction, wave.min_per_stratum, seed)
        draw = SampleDraw(wave=wave.code, cohort=cohort, seed=seed, fraction=wave.fraction,
                          min_per_stratum=wave.min_per_stratum, frame_size=len(frame),
                          sample_size=sum(s.sample for s in strata),
                          strata=[SampleStratum(country=s.country, partner_id=s.partner_id, frame_size=s.frame,
                                                sample_size=s.sample, probability=s.probability) for s in strata])
        db.session.add(draw)
        try:
            db.session.flush()
        except IntegrityError:  # another planner drew this cohort a moment ago: its draw stands
            db.session.rollback()
            continue
        by_id = {r.id: r for r in frame}
        probability = defaultdict(float)
        for stratum in strata:
            for returnee_id in stratum.selected:
                probability[returnee_id] = stratum.probability
        rows = [_row(wave, rid, by_id[rid].return_date, by_id[rid].preferred_channel, p, draw.id)
                for rid, p in sorted(probability.items())]
        created += _insert_ignoring_duplicates(rows)
        db.session.commit()
        report.draws.append(f"{wave.code} {cohort}: {draw.sample_size} of {draw.frame_size}")
    return created
