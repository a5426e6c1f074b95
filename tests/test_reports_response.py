"""Response counts per AAPOR category and the rates, against a worked disposition table."""
from __future__ import annotations

import json

from monitor.extensions import db
from monitor.reports.filters import ReportFilter
from monitor.reports.tables import attrition, modes, rates, response
from tests.reports_helpers import add_case
from tests.test_organisations_cli import invoke

# wave m1, Georgia, Caritas, by SMS: I 6, P 2, R 3, NC 3, O 2, U 2, NE 3
SMS = ["1.1"] * 6 + ["1.2"] * 2 + ["2.11", "2.112", "2.12", "2.20", "2.20", "2.21", "2.31", "2.361",
                                   "3.90", "3.90", "4.10", "4.10", "4.10"]


def worked_table():
    for n, code in enumerate(SMS):
        add_case("caritas", "GE", code, probability=0.5, mode="phone" if n == 0 else "sms-web")
    add_case("caritas", "GE", "1.1", channel="phone", probability=0.25, mode="visit")
    add_case("caritas", "GE", "2.20", channel="phone", probability=0.25)
    add_case("iom", "AM", "4.10")
    add_case("iom", "AM", None)  # still open: in no count
    db.session.commit()


def test_rates_as_aapor_defines_them():
    assert rates({"I": 6, "P": 2, "R": 3, "NC": 3, "O": 2, "U": 2, "NE": 3}) == {
        "RR1": 0.3333, "RR2": 0.4444, "COOP1": 0.4615, "CON1": 0.7222, "REF1": 0.1667}
    assert rates({"NE": 4}) == dict.fromkeys(["RR1", "RR2", "COOP1", "CON1", "REF1"])


def test_worked_disposition_table(app, orgs):
    worked_table()
    rows = {(r.wave, r.channel, r.country, r.partner): r for r in response(ReportFilter())}
    assert list(rows) == [("m1", "phone", "GE", "caritas"), ("m1", "sms", "AM", "iom"),
                          ("m1", "sms", "GE", "caritas"), ("m1", "all", "AM", "iom"), ("m1", "all", "GE", "caritas")]
    sms = rows[("m1", "sms", "GE", "caritas")]
    assert sms.counts == {"I": 6, "P": 2, "R": 3, "NC": 3, "O": 2, "U": 2, "NE": 3}
    assert sms.rates == {"RR1": 0.3333, "RR2": 0.4444, "COOP1": 0.4615, "CON1": 0.7222, "REF1": 0.1667}
    assert rows[("m1", "phone", "GE", "caritas")].rates == {"RR1": 0.5, "RR2": 0.5, "COOP1": 1.0, "CON1": 0.5,
                                                            "REF1": 0.0}
    both = rows[("m1", "all", "GE", "caritas")]
    assert both.counts == {"I": 7, "P": 2, "R": 3, "NC": 4, "O": 2, "U": 2, "NE": 3}
    assert both.rates == {"RR1": 0.35, "RR2": 0.45, "COOP1": 0.5, "CON1": 0.7, "REF1": 0.15}
    assert rows[("m1", "all", "AM", "iom")].rates["RR1"] is None
    # weighted by 1/π: SMS follow-ups weigh 2, phone 4; the unweighted AM row has no π
    weighted = {(r.channel, r.country): r for r in response(ReportFilter(), weighted=True)}
    assert weighted[("all", "GE")].counts == {"I": 16, "P": 4, "R": 6, "NC": 10, "O": 4, "U": 4, "NE": 6}
    assert weighted[("all", "GE")].rates["RR1"] == round(16 / 44, 4)
    assert ("all", "AM") not in weighted
    # --by: the columns left out are `all`
    assert [(r.wave, r.channel, r.country, r.partner, r.counts["I"]) for r in response(ReportFilter(), by=("partner",))] == [
        ("all", "all", "all", "caritas", 7), ("all", "all", "all", "iom", 0)]


def test_modes_attrition_and_living_abroad(app, orgs):
    worked_table()
    back = add_case("caritas", "GE", "1.1")
    add_case("caritas", "GE", "1.1", wave="m6", returnee_id=back)
    gone = add_case("caritas", "GE", "1.2")
    add_case("caritas", "GE", "2.361", wave="m6", returnee_id=gone)
    away = add_case("caritas", "GE", "1.1")
    add_case("caritas", "GE", "4.10", wave="m6", returnee_id=away)  # not eligible: left out
    add_case("caritas", "GE", "2.11", wave="m6")  # not a respondent of the one-month check
    [m1, m6] = modes(ReportFilter())
    assert (m1.wave, m1.modes, m1.living_abroad) == ("m1", {"sms-web": 10, "phone": 1, "visit": 1, "import": 0}, 1)
    assert (m6.wave, m6.modes["sms-web"], m6.living_abroad) == ("m6", 1, 1)
    assert [(r.wave, r.followed_up, r.responded, r.attrition) for r in attrition(ReportFilter())] == [
        ("m6", 2, 1, 0.5)]


def test_command_line(app, orgs):
    worked_table()
    out = invoke(app, "report", "response", "--format", "csv", "--country", "ge", "--channel", "sms")
    assert out.exit_code == 0, out.output
    assert out.output.splitlines() == [
        "wave,channel,country,partner,I,P,R,NC,O,U,NE,RR1,RR2,COOP1,CON1,REF1",
        "m1,sms,GE,caritas,6,2,3,3,2,2,3,0.3333,0.4444,0.4615,0.7222,0.1667",
        "m1,all,GE,caritas,6,2,3,3,2,2,3,0.3333,0.4444,0.4615,0.7222,0.1667"]
    rows = json.loads(invoke(app, "report", "response", "--format", "json", "--organisation", "iom").output)
    assert {row["partner"] for row in rows} == {"iom"} and rows[0]["RR1"] is None
    assert "m6" not in invoke(app, "report", "modes").output
    bad = invoke(app, "report", "response", "--by", "shoe_size")
    assert bad.exit_code == 1 and "cannot break down by shoe_size" in bad.output
    bad = invoke(app, "report", "response", "--by", "country,sex")
    assert bad.exit_code == 1 and "not sex" in bad.output
