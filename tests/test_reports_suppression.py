"""Disclosure control: primary and secondary suppression, on the seed-004 table and others."""
from __future__ import annotations

from monitor.reports.suppression import hidden_cells, suppress_counts, suppress_statistic, suppress_table
from tests.reports_helpers import add_case, seed_004
from tests.test_organisations_cli import invoke
from monitor.extensions import db

SEED_004_PUBLISHED = """country,Caritas International,IOM,Total
Georgia,50,46,96
Iraq,20,39,59
Russia,37,5,42
Armenia,21,6,27
Morocco,<5,x,10
Senegal,x,<5,9
Afghanistan,0,7,7
Cameroon,6,0,6
Iran,0,6,6
Congo - Kinshasa,<5,<5,5
North Macedonia,0,<5,<5
Kazakhstan,0,<5,<5
Mongolia,<5,0,<5
n.a.,31,37,68
Total,177,167,344
"""


def test_seed_004_published(app, orgs):
    seed_004()
    out = invoke(app, "report", "caseload", "--publication", "--format", "csv")
    assert out.output == SEED_004_PUBLISHED
    stricter = invoke(app, "report", "caseload", "--publication", "--threshold", "10", "--format", "csv").output
    assert stricter.splitlines()[5:8] == ["Morocco,<10,<10,10", "Senegal,<10,<10,<10", "Afghanistan,0,<10,<10"]


def test_secondary_repeats_until_no_line_has_a_single_hidden_cell():
    # (0, 0) is small: its row hides (0, 1) (3 < 9 would be small too: 8 is the smallest
    # other non-zero); that column then has one hidden cell, so (1, 1) goes, then (1, 0)...
    cells = [[2, 8, 9], [7, 20, 0], [30, 40, 50]]
    assert hidden_cells(cells, 5) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    # ties: the first column, then the first row
    assert hidden_cells([[1, 6, 6]], 5, columns_have_totals=False) == {(0, 0), (0, 1)}
    assert hidden_cells([[1], [6], [6]], 5, rows_have_totals=False) == {(0, 0), (1, 0)}
    # zeros are shown and never picked
    assert hidden_cells([[3, 0]], 5, columns_have_totals=False) == {(0, 0)}
    assert hidden_cells([[0, 0]], 5) == set()


def test_small_totals_are_suppressed_like_any_count():
    # Georgia: Caritas 3, IOM 1 -- its total 4 is a group of fewer than five people too; Iraq's
    # cells go with it (13 - 10 would give Georgia's 3 back), and then Iraq's total (26 - 22).
    rows = [["Georgia", 3, 1, 4], ["Iraq", 10, 12, 22], ["Total", 13, 13, 26]]
    assert suppress_table(rows, 5) == [["Georgia", "<5", "<5", "<5"], ["Iraq", "x", "x", "x"], ["Total", 13, 13, 26]]
    small = [["Georgia", 3, 1, 4], ["Total", 3, 1, 4]]
    assert suppress_table(small, 5) == [["Georgia", "<5", "<5", "<5"], ["Total", "<5", "<5", "<5"]]
    # a total hidden by itself is a line's single hidden entry: a cell of the line goes with it
    rows = [["A", 2, 0, 2], ["B", 0, 9, 9], ["Total", 2, 9, 11]]
    published = suppress_table(rows, 5)
    assert published[0] == ["A", "<5", 0, "<5"] and published[2][1] == "<5"
    assert sum(cell in ("<5", "x") for row in published for cell in row) >= 5


def test_rates_and_statistics():
    assert suppress_counts(["m6", 12, 3, 0.75], 5, counts=(1, 2), rates={3: 2}, denominators={3: 1}) == [
        "m6", 12, "<5", "<5"]
    assert suppress_counts(["m6", 4, 0, 1.0], 5, counts=(1, 2), rates={3: 2}, denominators={3: 1}) == [
        "m6", "<5", 0, "<5"]
    row = ["m6", "GE", "all", "economic", 4, 0.5, 0.1, 0.3, 0.7, True]
    assert suppress_statistic(row, 5, n_column=4) == ["m6", "GE", "all", "economic", "<5", "<5", "<5", "<5", "<5",
                                                      True]
    assert suppress_statistic(row, 4, n_column=4) == row


def test_response_published(app, orgs):
    # Georgia, Caritas: by SMS 6 complete, 5 refusals; by phone 1 complete, 9 non-contacts
    for code in ["1.1"] * 6 + ["2.11"] * 5:
        add_case("caritas", "GE", code)
    for code in ["1.1"] + ["2.20"] * 9:
        add_case("caritas", "GE", code, channel="phone")
    db.session.commit()
    lines = invoke(app, "report", "response", "--publication", "--format", "csv").output.splitlines()
    assert lines[1:] == [
        # the phone's single complete hides the SMS's 6 in that column (the all row shows 7), and
        # every rate whose numerator or denominator holds a hidden count
        "m1,phone,GE,caritas,<5,0,0,9,0,0,0,<5,<5,<5,<5,<5",
        "m1,sms,GE,caritas,x,0,5,0,0,0,0,<5,<5,<5,<5,<5",
        "m1,all,GE,caritas,7,0,5,9,0,0,0,0.3333,0.3333,0.5833,0.5714,0.2381",
    ]


def test_threshold_from_the_configuration(app, orgs):
    seed_004()
    app.config["REPORT_SUPPRESSION_THRESHOLD"] = 10
    try:
        lines = invoke(app, "report", "caseload", "--publication", "--format", "csv").output.splitlines()
    finally:
        app.config["REPORT_SUPPRESSION_THRESHOLD"] = 5
    assert lines[5] == "Morocco,<10,<10,10"
