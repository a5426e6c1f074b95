"""Imported responses weighted when the file gives their stratum's size (N_h): a draw of kind
`imported` per wave and month of return, a stratum per country and partner, probability n_h/N_h.
Without it, imported follow-ups have no draw and are left out of weighted estimates. Both
databases."""
from __future__ import annotations

from sqlalchemy import select

from monitor.extensions import db
from monitor.models import FollowUp, Returnee, SampleDraw, SampleStratum
from tests.conftest import make_follow_up, make_returnee
from tests.test_import_responses import csv_file, errors, row, run

ITEMS = ["stratum_size", "feels_safe"]


def three_cases(orgs):
    for n in range(3):
        make_returnee(orgs["caritas"], f"GE-S-{n}", orgs["caritas-ge"])
    make_returnee(orgs["iom"], "GE-S-9", orgs["iom-ge"])
    db.session.commit()


def test_a_given_stratum_size_makes_imported_cases_weightable(app, orgs):
    three_cases(orgs)
    data = csv_file(*[row(f"GE-S-{n}", wave="m6", stratum_size="10", feels_safe="safe") for n in range(3)],
                    row("GE-S-9", wave="m6", disposition="2.20"), items=ITEMS)
    report = run(data)
    assert report.errors == [] and report.created == 4
    db.session.commit()
    weighted = db.session.scalars(select(FollowUp).where(FollowUp.stratum_id.is_not(None))).all()
    assert len(weighted) == 3 and {f.inclusion_probability for f in weighted} == {0.3}
    stratum = db.session.get(SampleStratum, weighted[0].stratum_id)
    assert (stratum.country, stratum.frame_size, stratum.sample_size) == ("GE", 10, 3)
    draw = db.session.get(SampleDraw, stratum.draw_id)
    assert (draw.kind, draw.wave, draw.cohort, draw.seed, draw.frame_stored) == ("imported", "m6", "2026-09", None, False)
    unweighted = db.session.scalar(select(FollowUp).where(FollowUp.stratum_id.is_(None)))
    assert (unweighted.source, unweighted.inclusion_probability) == ("imported", None)
    # The same file again changes nothing; the CLI notes that such a draw cannot be redrawn.
    again = run(data)
    assert again.errors == [] and again.unchanged == 4
    db.session.commit()
    assert db.session.query(SampleDraw).count() == 1
    output = app.test_cli_runner().invoke(args=["sample-report", "m6", "--verify"]).output
    assert "imported" in output and "cannot be redrawn" in output


def test_stratum_sizes_that_do_not_hold_are_refused_with_their_lines(app, orgs):
    three_cases(orgs)
    report = run(csv_file(row("GE-S-0", wave="m6", stratum_size="10", feels_safe="safe"),
                          row("GE-S-1", wave="m6", stratum_size="12", feels_safe="safe"),
                          row("GE-S-9", wave="m6", stratum_size="0", disposition="2.20"),
                          items=ITEMS))
    assert [(line, message.split(":")[0]) for line, _code, message in errors(report)] == [
        (2, "column stratum_size"), (3, "column stratum_size"), (4, "column stratum_size")]
    assert "give one" in errors(report)[0][2] and "not a whole number from 1" in errors(report)[2][2]
    report = run(csv_file(*[row(f"GE-S-{n}", wave="m6", stratum_size="2", feels_safe="safe") for n in range(3)],
                          items=ITEMS))
    assert all("has 3 rows but a size of 2" in message for _line, _code, message in errors(report))


def test_a_follow_up_drawn_by_the_platform_keeps_its_stratum(app, orgs):
    three_cases(orgs)
    follow_up = make_follow_up(db.session.scalar(select(Returnee).where(Returnee.code == "GE-S-0")), "m1")
    draw = SampleDraw(wave="m1", cohort="2026-09", kind="census", sequence=0, seed=None, fraction=1.0,
                      min_per_stratum=0, frame_size=1, sample_size=1,
                      strata=[SampleStratum(country="GE", partner_id=orgs["caritas"].id, frame_size=1, sample_size=1,
                                            probability=1.0)])
    db.session.add(draw)
    db.session.flush()
    follow_up.sample_draw_id, follow_up.stratum_id = draw.id, draw.strata[0].id
    db.session.commit()
    report = run(csv_file(row("GE-S-0", stratum_size="5", feels_safe="safe"), items=ITEMS))
    assert "was drawn by the platform" in errors(report)[0][2]
