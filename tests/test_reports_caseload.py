"""The caseload table: completed surveys by country and partner, n.a., Total (seed 004)."""
from __future__ import annotations

import pytest

from monitor.extensions import db
from monitor.reports.filters import ReportFilter
from monitor.reports.tables import caseload
from tests.reports_helpers import add_case, seed_004
from tests.test_organisations_cli import invoke

SEED_004_CSV = """country,Caritas International,IOM,Total
Georgia,50,46,96
Iraq,20,39,59
Russia,37,5,42
Armenia,21,6,27
Morocco,1,9,10
Senegal,8,1,9
Afghanistan,0,7,7
Cameroon,6,0,6
Iran,0,6,6
Congo - Kinshasa,1,4,5
North Macedonia,0,4,4
Kazakhstan,0,3,3
Mongolia,2,0,2
n.a.,31,37,68
Total,177,167,344
"""


def test_seed_004_table(app, orgs):
    seed_004()
    table = caseload(ReportFilter())
    assert table.partners == ("Caritas International", "IOM")
    assert [row.label for row in table.rows][-2:] == ["n.a.", "Total"]
    assert table.rows[-1].total == 344 and table.rows[-2].total == 68
    assert sum(row.total for row in table.rows[:-2]) == 276
    assert invoke(app, "report", "caseload", "--format", "csv").output == SEED_004_CSV


def test_filters_and_scope(app, orgs):
    seed_004()
    add_case("caritas", "GE", "1.1", local="caritas-ge")
    add_case("caritas", "GE", "2.11", local="caritas-ge")
    table = caseload(ReportFilter(countries=("GE",)))
    assert [(row.label, row.cells, row.total) for row in table.rows] == [
        ("Georgia", (51, 46), 97), ("n.a.", (12, 13), 25), ("Total", (63, 59), 122)]
    # what Caritas Georgia's staff may see: its own cases, in the Caritas column only
    table = caseload(ReportFilter(organisation="caritas-ge"))
    assert table.partners == ("Caritas International",)
    assert [(row.label, row.cells) for row in table.rows] == [("Georgia", (1,)), ("n.a.", (1,)), ("Total", (2,))]
    table = caseload(ReportFilter(organisation="iom", waves=("m6",)))
    assert table.rows[0] == table.rows[0].__class__("Georgia", "GE", (16,), 16)
    assert table.rows[-2].total == 0


def test_command_line(app, orgs):
    seed_004()
    out = invoke(app, "report", "caseload", "--organisation", "iom", "--format", "json")
    assert out.exit_code == 0
    assert '"Total": 167' in out.output
    table = invoke(app, "report", "caseload").output.splitlines()
    assert table[0].split() == ["country", "Caritas", "International", "IOM", "Total"]
    assert table[-1].split() == ["Total", "177", "167", "344"]
    unknown = invoke(app, "report", "caseload", "--organisation", "nobody")
    assert unknown.exit_code == 1 and "no organisation 'nobody'" in unknown.output


def test_filter_for_a_user(app, users):
    assert ReportFilter.for_user(users["analyst"], waves=("m6",)) == ReportFilter(waves=("m6",))
    assert ReportFilter.for_user(users["caritas-ge"]).organisation == "caritas-ge"
    assert ReportFilter.for_user(users["admin"]).organisation is None
    assert ReportFilter(countries=["GE", ""], waves="m6") == ReportFilter(countries=("GE",), waves=("m6",))


def test_every_filter(app, orgs):
    from datetime import date

    add_case("caritas", "GE", "1.1", local="caritas-ge", sex="f", returned=date(2026, 1, 15),
             vulnerabilities=["medical"])
    add_case("caritas", "GE", "1.1", channel="phone", sex="m", returned=date(2026, 4, 2))
    add_case("iom", "AM", "1.1", local="iom-ge", sex="f", returned=date(2026, 6, 30),
             vulnerabilities=["medical", "family_with_children"])
    db.session.commit()

    def completed(**values):
        return caseload(ReportFilter(**values)).rows[-1].total

    assert completed() == 3
    assert completed(returned_from=date(2026, 4, 2)) == 2
    assert completed(returned_to=date(2026, 4, 1)) == 1
    assert completed(returned_from=date(2026, 2, 1), returned_to=date(2026, 6, 30)) == 2
    assert completed(partners=("iom",)) == 1
    assert completed(local_partners=("caritas-ge", "iom-ge")) == 2
    assert completed(channels=("phone",)) == 1
    assert completed(sexes=("f",)) == 2
    assert completed(vulnerabilities=("medical",)) == 2
    assert completed(vulnerabilities=("family_with_children", "trafficking_victim")) == 1
    assert completed(sexes=("f",), countries=("GE",)) == 1
    out = invoke(app, "report", "caseload", "--returned-from", "2026-04-02", "--sex", "f,m", "--format", "csv")
    assert out.output.splitlines()[-1] == "Total,1,1,2"
    bad = invoke(app, "report", "caseload", "--returned-from", "April")
    assert bad.exit_code == 2 and "is not a date" in bad.output


@pytest.mark.parametrize("options, message", [
    (["--wave", "zz"], "unknown wave 'zz'"),
    (["--sex", "q"], "unknown sex 'q'"),
    (["--partner", "nope"], "unknown partner 'nope'"),
    (["--country", "geo"], "countries are ISO codes of two capital letters"),
    (["--channel", "fax"], "unknown channel 'fax'"),
])
def test_a_filter_naming_something_unknown_is_a_clear_error_not_an_empty_table(app, options, message):
    result = app.test_cli_runner().invoke(args=["report", "caseload", *options])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
