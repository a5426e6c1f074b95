"""The dashboard page (/dashboard/): the same figures as `monitor report` for the same filters, in
its tables and its CSV downloads; partner staff see only their organisation; the publication
switch suppresses page, chart data and CSV alike; bad filters get a message; the numbers are in
HTML tables (no JavaScript needed); the page stays light. Both databases."""
from __future__ import annotations

import csv
import gzip
import json
import re
from html.parser import HTMLParser

import pytest

from monitor.dashboard import sections
from monitor.extensions import db
from monitor.exports.files import neutralise
from tests.reports_helpers import add_case, add_stratum, seed_004
from tests.test_organisations_cli import invoke

SCORES = ("economic", "social", "psychosocial", "composite")


def outcomes_caseload():
    """Georgia and Armenia at six months, Caritas and IOM, strata with scores, how they heard and
    why they decided; and the test phase's caseload for the counts."""
    strata = {("GE", "caritas"): add_stratum("m6", "GE", "caritas", 80, 40),
              ("GE", "iom"): add_stratum("m6", "GE", "iom", 60, 30),
              ("AM", "caritas"): add_stratum("m6", "AM", "caritas", 10, 4)}
    for (country, partner), stratum in strata.items():
        for n in range({"GE": 34, "AM": 3}[country]):
            level = (0.6 if partner == "caritas" else 0.5) + (n % 7) / 20
            add_case(partner, country, "1.1" if n % 9 else "2.20", wave="m6", stratum=stratum, probability=0.5,
                     local="caritas-ge" if (country, partner) == ("GE", "caritas") and n % 2 else None,
                     sex="f" if n % 3 else "m",
                     scores={"economic": level, "social": min(1, level + 0.1), "psychosocial": level - 0.05,
                             "composite": level} if n % 9 else None,
                     answers={"heard_from": ["family_friends", "iom_staff"][: 1 + n % 2],
                              "decision_factors": ["family_at_home", "no_legal_stay", "no_work"][: 1 + n % 3]}
                     if n % 9 else None)
    seed_004()
    db.session.commit()


class Tables(HTMLParser):
    """Each <section id=...>'s table as rows of cell texts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.section = None
        self.found: dict[str, list[list[str]]] = {}
        self.cell: list[str] | None = None
        self.in_body = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and attrs.get("id"):
            self.section = attrs["id"]
            self.found[self.section] = []
        elif tag == "tbody":
            self.in_body = True
        elif tag == "tr" and self.in_body:
            self.found[self.section].append([])
        elif tag == "td" and self.in_body:
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.found[self.section][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tbody":
            self.in_body = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def tables_of(html: str) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(html)
    return parser.found


def figures_of(html: str) -> dict[str, dict]:
    return {key: json.loads(body) for key, body in
            re.findall(r'<script type="application/json" id="([^"]+)">(.*?)</script>', html, re.S)}


def cli(app, kind, section, *args, publication=False):
    """`monitor report KIND --by BY` for the section, as CSV lines and as JSON rows."""
    by = ["--by", ",".join(section.by)] if section.by is not None else []
    extra = [*by, *args, *(["--publication"] if publication else [])]
    csv_lines = invoke(app, "report", kind, *extra, "--format", "csv").output.splitlines()
    rows = json.loads(invoke(app, "report", kind, *extra, "--format", "json").output)
    if section.keep is not None:
        keep = [section.keep(row) for row in rows]
        csv_lines = [csv_lines[0]] + [line for line, kept in zip(csv_lines[1:], keep) if kept]
        rows = [row for row, kept in zip(rows, keep) if kept]
    return csv_lines, rows


FILTERS = [
    ({}, []),
    ({"wave": "m6", "country": "GE"}, ["--wave", "m6", "--country", "GE"]),
    ({"partner": "caritas", "sex": "f", "returned_from": "2026-01-01", "returned_to": "2026-12-31"},
     ["--partner", "caritas", "--sex", "f", "--returned-from", "2026-01-01", "--returned-to", "2026-12-31"]),
    ({"local_partner": "caritas-ge", "channel": "sms"}, ["--local-partner", "caritas-ge", "--channel", "sms"]),
]


@pytest.mark.parametrize("query, options", FILTERS)
def test_page_and_downloads_show_what_monitor_report_prints(app, users, orgs, browser_for, query, options):
    outcomes_caseload()
    browser = browser_for(users["analyst"])
    page = browser.get("/dashboard/", query_string=query)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    shown = tables_of(html)
    for section in sections.SECTIONS:
        csv_lines, rows = cli(app, section.kind, section, *options)
        download = browser.get(f"/dashboard/{section.key}.csv", query_string=query)
        assert download.status_code == 200 and download.mimetype == "text/csv"
        assert download.get_data(as_text=True).splitlines() == csv_lines, section.key
        header = next(csv.reader([csv_lines[0]]))
        with app.test_request_context(headers={"Accept-Language": "en"}):
            expected = sections.table(section, header, [list(row.values()) for row in rows])
        assert shown[section.key] == [[text for text, _numeric in cells] for cells, _u in expected.rows], section.key
    if not query:  # the numbers themselves, not only their formatting
        assert shown["caseload"][-2][0] == "Not completed (refusals, break-offs)"
        assert shown["caseload"][-1][1:] == ["209", "197", "406"]  # the test phase's 177 and 167, and Georgia and Armenia at six months


def test_outcomes_side_by_side_with_intervals_and_unreliable_greyed(app, users, orgs, browser_for):
    outcomes_caseload()
    html = browser_for(users["analyst"]).get("/dashboard/?wave=m6").get_data(as_text=True)
    figure = next(f for key, f in figures_of(html).items() if key.startswith("fig-outcomes"))
    names = [trace["name"] for trace in figure["data"]]
    assert names == ["Caritas International", "IOM"]
    caritas = figure["data"][0]
    countries, dimensions = caritas["x"]
    assert {"Georgia", "Armenia"} <= set(countries)
    assert dimensions[:4] == ["Economic", "Social", "Psychosocial", "Composite"]
    assert all(v is not None for v in caritas["error_y"]["array"][:3])  # Georgia: intervals drawn
    rows = json.loads(invoke(app, "report", "outcomes", "--wave", "m6", "--by", "country,partner",
                             "--format", "json").output)
    ge = {r["indicator"]: r for r in rows if (r["country"], r["partner"]) == ("GE", "caritas")}
    georgia = [i for i, c in enumerate(countries) if c == "Georgia"]
    assert [caritas["y"][i] for i in georgia] == [ge[s]["estimate"] for s in SCORES]
    assert caritas["error_y"]["array"][georgia[0]] == pytest.approx(ge["economic"]["ci_high"] - ge["economic"]["estimate"])
    # Armenia's 3 respondents: unreliable, grey in the chart and in the table, with a note
    armenia = [i for i, c in enumerate(countries) if c == "Armenia"]
    assert {caritas["marker"]["color"][i] for i in armenia} == {sections.faded(sections.COLOURS[0])}
    assert caritas["marker"]["color"][georgia[0]] == sections.COLOURS[0]  # 30 respondents: reliable
    assert 'class="unreliable"' in html and "shown in grey" in html
    assert "Scores of scoring version 1" in html and "Data as of" in html


def test_partner_staff_see_only_their_organisation(app, users, orgs, browser_for):
    outcomes_caseload()
    browser = browser_for(users["caritas-ge"])
    html = browser.get("/dashboard/").get_data(as_text=True)
    traces = {trace["name"] for figure in figures_of(html).values() for trace in figure["data"]}
    assert "IOM" not in traces and "Caritas International" in traces
    assert 'value="iom"' not in html and 'value="iom-ge"' not in html  # not offered as filters either
    caseload = browser.get("/dashboard/caseload.csv").get_data(as_text=True)
    assert caseload == invoke(app, "report", "caseload", "--organisation", "caritas-ge", "--format", "csv").output
    assert "IOM" not in caseload
    outcomes = browser.get("/dashboard/outcomes.csv").get_data(as_text=True)
    assert ",iom," not in outcomes and ",caritas," in outcomes
    # another organisation cannot be filtered into
    refused = browser.get("/dashboard/?partner=iom")
    assert refused.status_code == 400 and "There is no partner" in refused.get_data(as_text=True)
    assert browser.get("/dashboard/response.csv?local_partner=iom-ge").status_code == 400
    # IOM's staff see none of Caritas's
    iom = browser_for(users["iom"]).get("/dashboard/caseload.csv").get_data(as_text=True)
    assert iom.splitlines()[0] == "country,IOM,Total" and "Caritas" not in iom


def test_publication_suppresses_page_charts_and_downloads(app, users, orgs, browser_for):
    outcomes_caseload()
    browser = browser_for(users["analyst"])
    html = browser.get("/dashboard/?publication=1").get_data(as_text=True)
    assert "For publication." in html
    morocco = next(row for row in tables_of(html)["caseload"] if row[0] == "Morocco")
    assert morocco[1:] == ["<5", "x", "10"]
    figure = figures_of(html)["fig-caseload-1"]
    at = figure["data"][0]["x"].index("Morocco")
    assert figure["data"][0]["y"][at] is None and figure["data"][1]["y"][at] is None
    csv = browser.get("/dashboard/caseload.csv?publication=1")
    lines = csv.get_data(as_text=True).splitlines()
    assert "publication" in csv.headers["Content-Disposition"]
    assert lines[-1].startswith("# For publication")
    assert lines[:-1] == invoke(app, "report", "caseload", "--publication", "--format", "csv").output.splitlines()
    for section in sections.SECTIONS:  # every download of the view, alike
        csv_lines, _rows = cli(app, section.kind, section, publication=True)
        got = browser.get(f"/dashboard/{section.key}.csv?publication=1").get_data(as_text=True).splitlines()
        assert got[:-1] == csv_lines and got[-1].startswith("# For publication"), section.key
    # the Armenian outcomes (3 respondents) are hidden in the chart data too
    outcomes = next(f for key, f in figures_of(html).items() if key.startswith("fig-outcomes"))
    caritas = outcomes["data"][0]
    armenia = [i for i, c in enumerate(caritas["x"][0]) if c == "Armenia"]
    assert armenia and all(caritas["y"][i] is None for i in armenia)
    plain = browser.get("/dashboard/caseload.csv").get_data(as_text=True)
    assert "#" not in plain and "Morocco,1,9,10" in plain


@pytest.mark.parametrize("query, message", [
    ("country=ZZ", "There is no country"),
    ("wave=m99", "There is no wave"),
    ("returned_from=2026-02-30", "is not a date"),
    ("returned_from=yesterday", "is not a date"),
    ("returned_from=2026-05-01&returned_to=2026-01-01", "ends before it starts"),
    ("sex=q&vulnerability=" + "x" * 500, "There is no sex"),
])
def test_bad_filters_get_a_message(users, browser_for, query, message):
    browser = browser_for(users["analyst"])
    page = browser.get(f"/dashboard/?{query}")
    assert page.status_code == 400 and message in page.get_data(as_text=True)
    assert "<table" not in page.get_data(as_text=True)
    csv = browser.get(f"/dashboard/outcomes.csv?{query}")
    assert csv.status_code == 400 and message in csv.get_data(as_text=True)
    assert browser.get("/dashboard/nothing.csv").status_code == 404


def test_the_numbers_need_no_javascript(app, users, orgs, browser_for):
    outcomes_caseload()
    page = browser_for(users["admin"]).get("/dashboard/")
    html = page.get_data(as_text=True)
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all('src="' in s or 'type="application/json"' in s for s in scripts)  # no inline script
    assert '<script src="/dashboard/plotly.min.js" defer>' in html
    for section in sections.SECTIONS:
        assert f'<section id="{section.key}"' in html
    assert len(tables_of(html)["caseload"]) == 15  # 13 countries, n.a. and Total, as HTML
    js = browser_for(None).get("/dashboard/plotly.min.js")
    assert js.status_code == 200 and b"plotly.js" in js.data[:200] and "max-age" in js.headers["Cache-Control"]
    # plotly.js only on this page
    assert "plotly" not in browser_for(users["admin"]).get("/returnees/").get_data(as_text=True)


def test_formula_looking_text_is_neutralised_numbers_are_not(app, users, orgs, browser_for):
    from monitor.models import Organisation

    db.session.add(Organisation(code="evil", name="=HYPERLINK(\"http://x\")", kind="reintegration"))
    db.session.commit()
    add_case("evil", "GE", "1.1")
    db.session.commit()
    csv = browser_for(users["analyst"]).get("/dashboard/caseload.csv").get_data(as_text=True)
    assert csv.splitlines()[0] == "country,\"'=HYPERLINK(\"\"http://x\"\")\",Caritas International,IOM,Total"
    assert neutralise(-0.25) == -0.25 and neutralise("-1") == "'-1"
    assert sections.csv_text(["a"], [[-0.5], ["@x"]]) == "a\n-0.5\n'@x\n"


def test_home_pages_and_links(users, browser_for):
    assert browser_for(users["analyst"]).get("/").location.endswith("/dashboard/")
    assert browser_for(users["admin"]).get("/").location.endswith("/dashboard/")
    partner = browser_for(users["caritas"])
    assert partner.get("/").location.endswith("/worklist/")
    worklist = partner.get("/worklist/").get_data(as_text=True)
    assert worklist.count('href="/dashboard/"') >= 2  # the navigation and the work list itself


def test_charts_and_tables_in_the_staff_language(app, users, orgs, browser_for):
    outcomes_caseload()
    browser = browser_for(users["analyst"])
    browser.post("/language", {"locale": "fr"})
    html = browser.get("/dashboard/?wave=m6").get_data(as_text=True)
    outcomes = next(f for key, f in figures_of(html).items() if key.startswith("fig-outcomes"))
    assert "Économique" in outcomes["data"][0]["x"][1] and "Géorgie" in outcomes["data"][0]["x"][0]
    browser.post("/language", {"locale": "ar"})
    html = browser.get("/dashboard/?wave=m6").get_data(as_text=True)
    assert 'dir="rtl"' in html


def test_page_weight_under_100_kb(app, users, browser_for):
    """The page's HTML, gzip-compressed as the server would send it, before plotly.js, with the
    demo caseload (every country, both partners, three waves)."""
    from monitor.demo import load_demo

    load_demo(size=200)
    html = browser_for(users["analyst"]).get("/dashboard/")
    assert html.status_code == 200
    weight = len(gzip.compress(html.data))
    assert weight < 100 * 1024, weight


def test_a_first_start_says_what_comes_first(app, users, orgs, browser_for):
    """Nothing has come back yet: instead of six empty sections, what to do first (for an
    administrator, with what is in place so far); a filtered view that finds nothing stays a
    view of empty sections."""
    admin = browser_for(users["admin"]).get("/dashboard/").get_data(as_text=True)
    assert "No figures yet" in admin and 'href="/returnees/import"' in admin and 'href="/admin/plan"' in admin
    assert "0 returnees" in admin and "6 accounts" in admin
    assert 'id="caseload"' not in admin and "plotly" not in admin  # no empty sections, no chart library
    analyst = browser_for(users["analyst"]).get("/dashboard/").get_data(as_text=True)
    assert "No figures yet" in analyst and 'href="/returnees/import"' not in analyst
    filtered = browser_for(users["analyst"]).get("/dashboard/?wave=m6").get_data(as_text=True)
    assert "No figures yet" not in filtered and 'id="caseload"' in filtered
    outcomes_caseload()
    assert "No figures yet" not in browser_for(users["admin"]).get("/dashboard/").get_data(as_text=True)
