"""Small caseloads for the report tests, written straight into the tables (Core inserts): the
reports only read them, so they need no contact details or protocol history."""
from __future__ import annotations

import itertools
from datetime import date, timedelta

from sqlalchemy import select

from monitor.extensions import db
from monitor.models import (
    FollowUp, Organisation, Response, ResponseAnswer, ResponseFlag, ResponseScore, Returnee, ReturneeVulnerability,
    SampleDraw, SampleStratum,
)

_codes = itertools.count(1)

# Seed 004, the test phase's table: completed surveys per country and partner, then n.a.
SEED_004 = {
    "caritas": {"GE": 50, "IQ": 20, "RU": 37, "AM": 21, "MA": 1, "SN": 8, "CM": 6, "CD": 1, "MN": 2},
    "iom": {"GE": 46, "IQ": 39, "RU": 5, "AM": 6, "MA": 9, "SN": 1, "AF": 7, "IR": 6, "CD": 4, "MK": 4, "KZ": 3},
}
SEED_004_NA = {"caritas": 31, "iom": 37}


def org(code: str) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.code == code))


def add_case(partner: str, country: str, disposition: str | None, *, wave: str = "m1", channel: str = "sms",
             stratum: int | None = None, probability: float | None = None, local: str | None = None,
             sex: str | None = None, returned: date = date(2026, 3, 1), vulnerabilities=(), mode: str = "sms-web",
             scores: dict | None = None, flags=(), answers: dict | None = None, returnee_id: int | None = None,
             scoring_version: int = 1, source: str = "planned") -> int:
    """One follow-up of a (new) returnee, closed with `disposition`; a response when the code
    carries one (1.1, 1.2, 2.12) or answers are given. Returns the returnee's id."""
    if returnee_id is None:
        returnee_id = db.session.execute(Returnee.__table__.insert().values(
            code=f"R-{next(_codes):06d}", destination_country=country, partner_id=org(partner).id,
            local_partner_id=org(local).id if local else None, return_date=returned, language="en",
            preferred_channel=channel, sex=sex, consent_given=True)).inserted_primary_key[0]
        for category in vulnerabilities:
            db.session.execute(ReturneeVulnerability.__table__.insert().values(returnee_id=returnee_id,
                                                                               category=category))
    draw_id = db.session.scalar(select(SampleStratum.draw_id).where(SampleStratum.id == stratum)) if stratum else None
    follow_up_id = db.session.execute(FollowUp.__table__.insert().values(
        returnee_id=returnee_id, wave=wave, due_date=returned + timedelta(days=30), window_opens=returned,
        window_closes=returned + timedelta(days=60), channel=channel, source=source,
        state="closed" if disposition else "planned", disposition=disposition, stratum_id=stratum,
        sample_draw_id=draw_id, inclusion_probability=probability)).inserted_primary_key[0]
    if disposition in ("1.1", "1.2", "2.12") or answers or scores:
        response_id = db.session.execute(Response.__table__.insert().values(
            follow_up_id=follow_up_id, returnee_id=returnee_id, wave=wave, questionnaire_code="standard",
            questionnaire_version=2, mode=mode, language="en", first_follow_up=wave == "m1")).inserted_primary_key[0]
        if scores is not None:
            db.session.execute(ResponseScore.__table__.insert().values(response_id=response_id,
                                                                       version=scoring_version, **scores))
        for flag in flags:
            db.session.execute(ResponseFlag.__table__.insert().values(response_id=response_id, flag=flag))
        for item, value in (answers or {}).items():
            values = value if isinstance(value, list) else [value]
            for position, code in enumerate(values):
                db.session.execute(ResponseAnswer.__table__.insert().values(
                    response_id=response_id, item=item, position=position if isinstance(value, list) else None,
                    code=code))
    return returnee_id


def add_stratum(wave: str, country: str, partner: str, frame_size: int, sample_size: int,
                cohort: str = "2026-03", kind: str = "sample") -> int:
    """A stratum of a draw (the draw made once per wave, cohort and kind)."""
    sequence = {"sample": 0, "census": 0, "imported": 0, "supplement": 1}[kind]
    draw_id = db.session.scalar(select(SampleDraw.id).where(SampleDraw.wave == wave, SampleDraw.cohort == cohort,
                                                            SampleDraw.sequence == sequence))
    if draw_id is None:
        draw_id = db.session.execute(SampleDraw.__table__.insert().values(
            wave=wave, cohort=cohort, kind=kind, sequence=sequence, seed=None if kind == "imported" else 1,
            fraction=0.5, min_per_stratum=2, frame_size=0, sample_size=0)).inserted_primary_key[0]
    return db.session.execute(SampleStratum.__table__.insert().values(
        draw_id=draw_id, country=country, partner_id=org(partner).id, frame_size=frame_size,
        sample_size=sample_size, probability=sample_size / frame_size)).inserted_primary_key[0]


def seed_004() -> None:
    """The test phase's caseload: 276 completed surveys and 68 refusals or break-offs, with
    follow-ups the caseload must not count (partial, non-contact, not eligible, still open)."""
    for partner, countries in SEED_004.items():
        for country, completed in countries.items():
            for n in range(completed):
                add_case(partner, country, "1.1", wave="m1" if n % 3 else "m6")
        for n in range(SEED_004_NA[partner]):
            add_case(partner, ["GE", "IQ", "AM"][n % 3], ("2.11", "2.112", "2.12")[n % 3])
        for disposition in ("1.2", "2.20", "2.21", "2.31", "3.90", "4.10", None):
            add_case(partner, "GE", disposition)
    db.session.commit()
