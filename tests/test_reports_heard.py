"""How they heard (every channel and the first, by reporting group), the decision factors (ranks
and the 3/2/1 score), and trends by quarter of return."""
from __future__ import annotations

from datetime import date

import pytest

from monitor.extensions import db
from monitor.reports.filters import ReportFilter
from monitor.reports.tables import factors, heard, trends
from tests.reports_helpers import add_case, add_stratum
from tests.test_organisations_cli import invoke


def answers_fixture():
    add_case("caritas", "GE", "1.1", probability=0.5, answers={
        "heard_from": ["family_friends", "other_migrants", "iom_staff"],
        "decision_factors": ["no_legal_stay", "family_at_home", "no_work"]})
    add_case("caritas", "GE", "1.1", probability=0.5, answers={
        "heard_from": ["return_desk", "family_friends"], "decision_factors": ["family_at_home", "no_legal_stay"]})
    add_case("caritas", "GE", "1.2", probability=0.25, answers={
        "heard_from": ["poster_flyer"], "decision_factors": ["family_at_home"]})
    add_case("caritas", "GE", "2.12", answers={"heard_from": ["embassy"]})  # a break-off: not a respondent
    add_case("caritas", "GE", "1.1", probability=0.5)  # did not answer
    add_case("iom", "AM", "1.1", probability=1.0, answers={"heard_from": ["embassy"]})
    db.session.commit()


def test_heard_by_group(app, orgs):
    answers_fixture()
    rows = [(r.key["country"], r.key["partner"], r.group, r.channel, r.answered, r.every, r.every_share, r.first,
             r.first_share) for r in heard(ReportFilter())]
    assert rows == [
        ("AM", "iom", "authorities", "all", 1, 1, 1.0, 1, 1.0),
        ("AM", "iom", "authorities", "embassy", 1, 1, 1.0, 1, 1.0),
        ("GE", "caritas", "return_services", "all", 3, 2, 0.6667, 1, 0.3333),
        ("GE", "caritas", "return_services", "return_desk", 3, 1, 0.3333, 1, 0.3333),
        ("GE", "caritas", "return_services", "iom_staff", 3, 1, 0.3333, 0, 0.0),
        ("GE", "caritas", "word_of_mouth", "all", 3, 2, 0.6667, 1, 0.3333),  # two of its channels count once
        ("GE", "caritas", "word_of_mouth", "family_friends", 3, 2, 0.6667, 1, 0.3333),
        ("GE", "caritas", "word_of_mouth", "other_migrants", 3, 1, 0.3333, 0, 0.0),
        ("GE", "caritas", "information_material", "all", 3, 1, 0.3333, 1, 0.3333),
        ("GE", "caritas", "information_material", "poster_flyer", 3, 1, 0.3333, 1, 0.3333),
    ]
    weighted = {r.group: (r.answered, r.every, r.first) for r in heard(ReportFilter(countries=("GE",)), (),
                                                                         weighted=True) if r.channel == "all"}
    assert weighted == {"return_services": (8.0, 4.0, 2.0), "word_of_mouth": (8.0, 4.0, 2.0),
                        "information_material": (8.0, 4.0, 4.0)}


def test_decision_factors(app, orgs):
    answers_fixture()
    rows = [(r.factor, r.group, r.ranks, r.score) for r in factors(ReportFilter(), ())]
    assert rows == [("family_at_home", "family_and_home", (2, 1, 0), 8),
                    ("no_legal_stay", "legal_status", (1, 1, 0), 5),
                    ("no_work", "hardship_in_belgium", (0, 0, 1), 1)]
    weighted = factors(ReportFilter(), (), weighted=True)
    assert (weighted[0].factor, weighted[0].ranks, weighted[0].score) == ("family_at_home", (6.0, 2.0, 0.0), 22.0)
    out = invoke(app, "report", "factors", "--by", "partner", "--format", "csv").output.splitlines()
    assert out[:2] == ["partner,factor,group,rank1,rank2,rank3,score", "caritas,family_at_home,family_and_home,2,1,0,8"]
    published = invoke(app, "report", "heard", "--by", "country", "--publication", "--format", "csv").output
    assert published.splitlines()[:3] == ["country,group,channel,answered,every,every_share,first,first_share",
                                          "AM,authorities,all,<5,<5,<5,<5,<5", "AM,authorities,embassy,<5,<5,<5,<5,<5"]


def test_trends_by_quarter(app, orgs):
    stratum = add_stratum("m6", "GE", "caritas", 20, 6)
    values = {date(2026, 2, 10): [0.2, 0.4, 0.9], date(2026, 5, 3): [0.5, 0.7], date(2026, 12, 31): [0.1]}
    for returned, scores in values.items():
        for value in scores:
            add_case("caritas", "GE", "1.1", wave="m6", stratum=stratum, probability=0.3, returned=returned,
                     scores={"economic": value})
    db.session.commit()
    rows = {(r.key["quarter"], r.indicator): r.result for r in trends(ReportFilter())}
    assert sorted({quarter for quarter, _ in rows}) == ["2026-Q1", "2026-Q2", "2026-Q4"]
    assert rows[("2026-Q1", "economic")].n == 3
    assert rows[("2026-Q1", "economic")].estimate == pytest.approx(0.5, abs=1e-12)  # one stratum: equal weights
    assert rows[("2026-Q2", "economic")].estimate == pytest.approx(0.6, abs=1e-12)
    assert rows[("2026-Q4", "economic")].ci_low is None  # one respondent
    out = invoke(app, "report", "trends", "--format", "csv").output.splitlines()
    assert out[0] == "wave,quarter,indicator,n,estimate,se,ci_low,ci_high,unreliable"
    assert out[1].startswith("m6,2026-Q1,economic,3,0.5")
    assert invoke(app, "report", "trends", "--publication", "--format", "csv").output.splitlines()[1] == (
        "m6,2026-Q1,economic,<5,<5,<5,<5,<5,true")
