"""The responses export (`monitor export responses`, the /exports/ page): one row per follow-up,
the estimator's design, stable numeric codes, labels for SPSS and Stata, no identifying column,
free text for administrators only, scoping, and an estimate reproduced in R from the CSV."""
from __future__ import annotations

import csv
import io
import shutil
import subprocess

import openpyxl
import pyreadstat
import pytest
from sqlalchemy import select

from monitor.exports.files import neutralise
from monitor.exports.responses import FORBIDDEN_COLUMNS, responses_table
from monitor.extensions import db
from monitor.models import AuditEntry, Response, ResponseAnswer, Returnee
from monitor.reports.aggregates import wave_designs
from monitor.reports.filters import ReportFilter
from monitor.reports.tables import outcomes
from surveys import registry
from surveys.definition import build_definition
from surveys.variables import CASE_COLUMNS, MAX_NAME, column_names, numeric_codes, variable_names
from tests.reports_helpers import add_case, add_stratum


def answer(returnee_id: int, wave: str, item: str, *, number=None, text=None) -> None:
    response_id = db.session.scalar(select(Response.id).where(Response.returnee_id == returnee_id,
                                                               Response.wave == wave))
    db.session.add(ResponseAnswer(response_id=response_id, item=item, number=number, text=text))


def caseload() -> dict[str, int]:
    """Wave m6: Caritas Georgia (stratum of 10, 4 drawn) and IOM Georgia (8, 3 drawn); one m1 case."""
    caritas = add_stratum("m6", "GE", "caritas", 10, 4)
    iom = add_stratum("m6", "GE", "iom", 8, 3)
    ids = {
        "c1": add_case("caritas", "GE", "1.1", wave="m6", stratum=caritas, probability=0.4, local="caritas-ge",
                       sex="f", vulnerabilities=("medical",), scores={"economic": 0.5, "composite": 0.6},
                       flags=["no_shelter"], answers={"housing_situation": "shelter", "work_status": "looking",
                                                       "heard_from": ["family_friends", "website"],
                                                       "decision_factors": ["no_work", "homesickness"],
                                                       "debts": "prefer_not_to_say", "business_started": "no"}),
        "c2": add_case("caritas", "GE", "1.2", wave="m6", stratum=caritas, probability=0.4, local="caritas-ge",
                       scores={"economic": 0.9, "composite": 0.8}, answers={"housing_situation": "own"}),
        "c3": add_case("caritas", "GE", "2.20", wave="m6", stratum=caritas, probability=0.4),
        "c4": add_case("caritas", "GE", "4.10", wave="m6", stratum=caritas, probability=0.4),
        "i1": add_case("iom", "GE", "1.1", wave="m6", stratum=iom, probability=0.375,
                       scores={"economic": 0.2, "composite": 0.3}, answers={"housing_situation": "rented"}),
        "i2": add_case("iom", "GE", "2.11", wave="m6", stratum=iom, probability=0.375),
        "m1": add_case("iom", "GE", "1.1", wave="m1", answers={"housing_situation": "own"}),
    }
    returnee = db.session.get(Returnee, ids["c1"])
    returnee.name = "Nino Beridze"
    returnee.set_phone("+995555123456")
    answer(ids["c1"], "m6", "household_size", number=-3)  # as an import could have it: stays a number
    answer(ids["c1"], "m6", "housing_other", text="=HYPERLINK(\"http://x\")")
    answer(ids["c1"], "m6", "heard_from_other", text="@Nino, +995 555 12 34 56")
    db.session.commit()
    return ids


def by_code(table) -> dict[str, dict]:
    return {row[0]: dict(zip(table.names, row)) for row in table.rows}


def test_rows_and_columns(app, orgs):
    caseload()
    table = responses_table(ReportFilter(waves=("m6",)))
    assert table.names[:len(CASE_COLUMNS)] == list(CASE_COLUMNS)
    assert not FORBIDDEN_COLUMNS & {name.lower() for name in table.names}
    assert not {"name", "phone", "returnee_name", "phone_number"} & set(table.names)
    rows = list(by_code(table).values())
    assert sorted(r["aapor"] for r in rows) == ["1.1", "1.1", "1.2", "2.11", "2.20", "4.10"]  # m1 left out
    c1 = next(r for r in rows if r["sex"] == "f")
    assert (c1["wave"], c1["country"], c1["partner"], c1["local_partner"], c1["cohort"], c1["vulnerabilities"],
            c1["channel"], c1["mode"]) == ("m6", "GE", "caritas", "caritas-ge", "2026-03", "medical", "sms", "sms-web")
    # N_h: frame 10 less the not eligible; r_h: 1.1 and 1.2; w = N_h / r_h as the estimator's design
    design = wave_designs(("m6",))["m6"]
    assert c1["N_h"] == 9 and c1["probability"] == 0.4 and c1["weight"] == pytest.approx(9 / 2)
    assert c1["weight"] == design[c1["stratum"]].weight
    non_respondent = next(r for r in rows if r["aapor"] == "2.20")
    assert non_respondent["weight"] is None and non_respondent["N_h"] == 9 and non_respondent["mode"] is None
    assert all(non_respondent[f"flag_{f.code}"] is None for f in registry.current().flags)
    assert (c1["scoring_version"], c1["score_economic"], c1["score_composite"]) == (1, 0.5, 0.6)
    # red flags: raised 1, asked and not raised 0, never asked missing
    assert c1["flag_no_shelter"] == 1 and c1["flag_food_cut_often"] is None
    own = next(r for r in rows if r["aapor"] == "1.2")
    assert own["flag_no_shelter"] == 0
    codes = numeric_codes(registry.all_versions().values())
    assert c1["housing_situation"] == codes["housing_situation"]["shelter"] == 5
    assert c1["work_status"] == 4 and c1["business_started"] == 0 and c1["debts"] == 98
    # multiple: one 0/1 column per option, and the first named; ranking: one column per rank
    assert c1["heard_from_family_friends"] == 1 and c1["heard_from_website"] == 1 and c1["heard_from_media"] == 0
    assert c1["heard_from_first"] == codes["heard_from"]["family_friends"]
    assert own["heard_from_website"] is None  # not answered: missing, not 0
    assert (c1["decision_factors_1"], c1["decision_factors_2"], c1["decision_factors_3"]) == (3, 8, None)
    assert c1["household_size"] == -3
    # free text only when asked for
    assert "housing_other" not in table.names
    assert "housing_other" in responses_table(ReportFilter(waves=("m6",)), with_text=True).names


def test_variable_names_rule():
    names = variable_names(["code", "heard_from:other", "heard_from_other", "HEARD_FROM_OTHER",
                            "income_sources:social_assistance", "income_sources:social_assistance_long_name"])
    assert names["code"] == "code" and names["heard_from:other"] == "heard_from_other"
    # equal to a name before it (case ignored, as SPSS does), or too long: 21 characters, _, 6 of the SHA-1
    assert names["heard_from_other"] == "heard_from_other_" + __import__("hashlib").sha1(
        b"heard_from_other").hexdigest()[:6][:MAX_NAME]
    assert names["HEARD_FROM_OTHER"].startswith("HEARD_FROM_OTHER_") and names["HEARD_FROM_OTHER"] != names[
        "heard_from_other"]
    long_a, long_b = names["income_sources:social_assistance"], names["income_sources:social_assistance_long_name"]
    assert long_a != long_b and long_a[:22] == long_b[:22] == "income_sources_social_"
    assert all(len(name) <= MAX_NAME <= 32 for name in names.values())
    assert len({name.lower() for name in names.values()}) == len(names)
    assert variable_names(list(names)) == names  # deterministic
    every = column_names(registry.all_versions().values())
    assert all(len(name) <= MAX_NAME for name in every.values())
    assert every["heard_from:other"] == "heard_from_other" and every["heard_from_other"] != "heard_from_other"


def _version(version: int, options: list[str], extra: dict | None = None) -> object:
    return build_definition({
        "code": "codes", "version": version, "title": "t", "intro": "i", "end": "e",
        "consent": {"text": "c", "agree": "a", "decline": "d"}, "dimensions": {"social": {"label": "Social"}},
        "modules": [{"code": "m", "title": "M", "items": [
            {"code": "where", "type": "single", "text": "Where?", "dont_know": True,
             "options": [{"code": code, "label": code.title()} for code in options]},
            {"code": "ok", "type": "yesno", "text": "OK?", "refusable": True}, *(extra or [])]}]})


def test_numeric_codes_stay_across_versions():
    v1 = _version(1, ["own", "rented", "shelter"])
    v2 = _version(2, ["shelter", "family", "own"])  # reordered, one retired, one new
    codes = numeric_codes([v2, v1])
    assert codes["where"] == {"own": 1, "rented": 2, "shelter": 3, "dont_know": 97, "family": 4}
    assert codes["ok"] == {"yes": 1, "no": 0, "prefer_not_to_say": 98}
    assert numeric_codes([v1])["where"] == {k: v for k, v in codes["where"].items() if k != "family"}
    # the published versions: version 2's new option comes after version 1's
    published = numeric_codes(registry.all_versions().values())
    assert published["support_received"] == {"all": 1, "part": 2, "none": 3, "too_early": 4, "nothing_promised": 5}


def test_a_code_answered_in_two_versions_exports_the_same_number(app, orgs):
    first = add_case("caritas", "GE", "1.1", wave="m6", answers={"support_received": "part"})
    second = add_case("caritas", "GE", "1.1", wave="m6", answers={"support_received": "part"})
    db.session.execute(Response.__table__.update().where(Response.returnee_id == first).values(
        questionnaire_version=1))
    db.session.commit()
    rows = by_code(responses_table(ReportFilter(waves=("m6",)))).values()
    assert [r["support_received"] for r in rows] == [2, 2] and second != first


def test_neutralise():
    assert neutralise("=1+1") == "'=1+1" and neutralise("+32 2 555") == "'+32 2 555"
    assert neutralise("-x") == "'-x" and neutralise("@a") == "'@a" and neutralise("\tx") == "'\tx"
    assert neutralise("\rx") == "'\rx" and neutralise("a=b") == "a=b"
    assert neutralise(-3) == -3 and neutralise(-0.5) == -0.5


def run_cli(app, *args):
    return app.test_cli_runner().invoke(args=["export", "responses", *args])


def test_files_read_back(app, orgs, users, tmp_path):
    caseload()
    for fmt in ("csv", "xlsx", "sav", "dta"):
        path = tmp_path / f"out.{fmt}"
        result = run_cli(app, "-o", str(path), "--wave", "m6", "--language", "fr", "--with-text", "--user",
                         users["admin"].email)
        assert result.exit_code == 0, result.output
    for fmt in ("csv", "xlsx", "sav", "dta"):  # never the case's name or phone number, in any form
        data = (tmp_path / f"out.{fmt}").read_bytes()
        assert b"Beridze" not in data and b"555123456" not in data
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    c1 = next(r for r in rows if r["sex"] == "f")
    assert c1["housing_other"] == "'=HYPERLINK(\"http://x\")"  # a formula neutralised
    text_column = column_names(registry.all_versions().values())["heard_from_other"]  # the text item's
    assert c1[text_column].startswith("'@") and c1["heard_from_other"] == "0"
    assert c1["household_size"] == "-3"  # a negative number is not
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx")["responses"]
    header = [cell.value for cell in sheet[1]]
    cells = [dict(zip(header, [cell.value for cell in row])) for row in sheet.iter_rows(min_row=2)]
    xc1 = next(r for r in cells if r["sex"] == "f")
    assert xc1["household_size"] == -3 and xc1["housing_other"].startswith("'=")
    assert sheet.cell(row=2, column=header.index("housing_other") + 1).data_type != "f"
    for fmt, read in (("sav", pyreadstat.read_sav), ("dta", pyreadstat.read_dta)):
        frame, meta = read(str(tmp_path / f"out.{fmt}"))
        assert len(frame) == 6 and list(frame.columns) == header
        assert meta.column_names_to_labels["heard_from_first"] == "heard_from:first"
        labels = meta.variable_value_labels
        assert set(labels["housing_situation"]) == {1, 2, 3, 4, 5, 6, 7}
        assert labels["work_status"][1] == "J'ai un travail"  # in the chosen language
        assert labels["business_started"][0] == "Non" and labels["business_started"][1] == "Oui"
        assert labels["debts"][98]
    frame, meta = pyreadstat.read_sav(str(tmp_path / "out.sav"), user_missing=True)
    assert 98 in [v for values in meta.missing_ranges["debts"] for v in (values["lo"], values["hi"])]


def test_every_export_is_audited(app, orgs, users, tmp_path):
    caseload()
    result = run_cli(app, "-o", str(tmp_path / "r.csv"), "--wave", "m6")
    assert result.exit_code == 0, result.output
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "export.responses"))
    assert entry.actor == "cli"
    assert entry.details == {"waves": ["m6"], "format": "csv", "rows": 6, "with_text": False, "labels": "en"}


def test_free_text_for_administrators_only(app, orgs, users, tmp_path):
    caseload()
    path = tmp_path / "r.csv"
    refused = run_cli(app, "-o", str(path), "--with-text")
    assert refused.exit_code == 1 and "--user" in refused.output
    refused = run_cli(app, "-o", str(path), "--with-text", "--user", users["analyst"].email)
    assert refused.exit_code == 1 and "administrators" in refused.output and not path.exists()
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "export.responses")) is None
    done = run_cli(app, "-o", str(path), "--with-text", "--user", users["admin"].email)
    assert done.exit_code == 0, done.output
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "export.responses"))
    assert entry.actor == users["admin"].email and entry.details["with_text"] is True
    assert "housing_other" in path.read_text().splitlines()[0].split(",")


def test_scoping(app, orgs, users, tmp_path):
    caseload()

    def partners(*args):
        path = tmp_path / "s.csv"
        result = run_cli(app, "-o", str(path), "--wave", "m6", *args)
        assert result.exit_code == 0, result.output
        return sorted(r["partner"] + "/" + r["local_partner"] for r in csv.DictReader(path.open()))

    assert partners("--organisation", "iom") == ["iom/", "iom/"]
    assert partners("--organisation", "caritas-ge") == ["caritas/caritas-ge", "caritas/caritas-ge"]
    assert partners("--user", users["iom"].email) == ["iom/", "iom/"]
    refused = run_cli(app, "-o", str(tmp_path / "x.csv"), "--organisation", "caritas", "--user", users["iom"].email)
    assert refused.exit_code == 1 and "own organisation" in refused.output
    unknown = run_cli(app, "-o", str(tmp_path / "x.csv"), "--organisation", "nobody")
    assert unknown.exit_code == 1 and "nobody" in unknown.output
    # the weight is the whole wave's design, whatever the scope
    scoped = by_code(responses_table(ReportFilter(waves=("m6",), organisation="caritas-ge")))
    assert {r["weight"] for r in scoped.values()} == {4.5}


def test_bad_choices_on_the_command_line(app, orgs, tmp_path):
    for args, says in ((["-o", str(tmp_path / "r.txt")], ".csv"), (["-o", "-"], ".csv"),
                       (["-o", str(tmp_path / "r.csv"), "--wave", "m99"], "unknown wave"),
                       (["-o", str(tmp_path / "r.csv"), "--language", "xx"], "unknown language")):
        result = run_cli(app, *args)
        assert result.exit_code == 1 and says in result.output, result.output


def test_the_page(app, orgs, users, browser_for):
    caseload()
    page = browser_for(users["analyst"]).get("/exports/")
    assert page.status_code == 200 and 'name="csrf_token"' in page.get_data(as_text=True)
    assert "with_text" not in page.get_data(as_text=True)
    download = browser_for(users["analyst"]).post("/exports/", {"waves": "m6", "file_format": "sav",
                                                                "language": "en", "organisation": ""})
    assert download.status_code == 200, download.get_data(as_text=True)
    name = download.headers["Content-Disposition"]
    assert "responses-m6-" in name and name.endswith(".sav") and download.headers["Cache-Control"] == "no-store"
    # partner staff: their organisation's cases, whatever they send
    partner = browser_for(users["caritas-ge"]).post("/exports/", {"waves": "m6", "file_format": "csv",
                                                                   "language": "en", "organisation": "caritas-ge"})
    assert partner.status_code == 200
    rows = list(csv.DictReader(io.StringIO(partner.get_data(as_text=True))))
    assert {r["local_partner"] for r in rows} == {"caritas-ge"} and len(rows) == 2
    foreign = browser_for(users["caritas-ge"]).post("/exports/", {"file_format": "csv", "language": "en",
                                                                   "organisation": "iom"})
    assert foreign.status_code == 400
    # free text: refused to an analyst (400, nothing exported), given to an administrator
    text = {"waves": "m6", "file_format": "csv", "language": "en", "organisation": "", "with_text": "y"}
    refused = browser_for(users["analyst"]).post("/exports/", text)
    assert refused.status_code == 400 and "Only administrators export free-text answers." in refused.get_data(
        as_text=True)
    admin = browser_for(users["admin"]).post("/exports/", text)
    assert admin.status_code == 200 and "housing_other" in admin.get_data(as_text=True).splitlines()[0]
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export.responses")
                                 .order_by(AuditEntry.id)).all()
    assert [(e.actor, e.details["format"], e.details["rows"], e.details["with_text"]) for e in entries] == [
        (users["analyst"].email, "sav", 6, False), (users["caritas-ge"].email, "csv", 2, False),
        (users["admin"].email, "csv", 6, True)]
    assert "caritas-ge" == entries[1].details["organisation"]


def test_the_codebook_lists_codes_and_names():
    from surveys.exports import codebook_rows

    rows = {(r["item"], r["option"]): r for r in codebook_rows(registry.current())}
    names = column_names(registry.all_versions().values())
    assert rows[("support_received", "nothing_promised")]["value"] == "5"
    assert rows[("debts", "no")]["value"] == "0" and rows[("debts", "prefer_not_to_say")]["value"] == "98"
    assert rows[("heard_from", "police_prison_detention")]["variable"] == names["heard_from:police_prison_detention"]
    assert rows[("decision_factors", "")]["variable"] == "decision_factors_1; decision_factors_2; decision_factors_3"
    assert rows[("heard_from_other", "")]["variable"] == names["heard_from_other"] != "heard_from_other"


def test_the_audit_log_names_the_export(app, orgs, users, browser_for):
    caseload()
    browser = browser_for(users["admin"])
    assert browser.post("/exports/", {"waves": "m6", "file_format": "dta", "language": "fr",
                                      "organisation": ""}).status_code == 200
    page = browser.get("/admin/audit").get_data(as_text=True)
    assert "Responses exported (pseudonymous)" in page and "Français" in page
    preselected = browser.get("/exports/?wave=m6").get_data(as_text=True)
    assert '<input checked id="waves-1" name="waves" type="checkbox" value="m6">' in preselected


# -- R reproduces the dashboard's figure from the export ------------------------------------

R_SCRIPT = """
suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "adjust")
d <- read.csv(commandArgs(trailingOnly = TRUE)[1], stringsAsFactors = FALSE)
respondents <- subset(d, !is.na(weight))
des <- svydesign(ids = ~1, strata = ~stratum, fpc = ~N_h, data = respondents)
for (v in c("score_composite", "score_economic", "flag_no_shelter")) {
  m <- svymean(as.formula(paste0("~", v)), des, na.rm = TRUE)
  cat(sprintf("all,%s,%.17g,%.17g\\n", v, coef(m), SE(m)))
}
ci <- svyciprop(~flag_no_shelter, subset(des, !is.na(flag_no_shelter)), method = "logit", df = degf(des))
cat(sprintf("ci,flag_no_shelter,%.17g,%.17g\\n", confint(ci)[1], confint(ci)[2]))
by <- svyby(~score_composite, ~country + partner, des, svymean, na.rm = TRUE)
for (i in seq_len(nrow(by))) cat(sprintf("%s/%s,score_composite,%.17g,%.17g\\n", by$country[i], by$partner[i],
                                        by$score_composite[i], by$se[i]))
"""


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not installed (make test installs it)")
def test_r_reproduces_the_outcomes_from_the_export(app, orgs, tmp_path):
    if subprocess.run(["Rscript", "-e", "library(survey)"], capture_output=True).returncode != 0:
        pytest.skip("R's survey package is not installed (make test installs it)")
    from tests.test_reports_estimator import load_example

    load_example()  # the estimator's R example: five strata, a lonely stratum, missing values
    path = tmp_path / "m6.csv"
    result = run_cli(app, "-o", str(path), "--wave", "m6")
    assert result.exit_code == 0, result.output
    script = tmp_path / "reproduce.R"
    script.write_text(R_SCRIPT)
    run = subprocess.run(["Rscript", str(script), str(path)], capture_output=True, text=True, check=True)
    found = {}
    for line in run.stdout.strip().splitlines():
        domain, variable, value, se = line.split(",")
        found[(domain, variable)] = (float(value), float(se))
    ours = {("all", row.indicator): row.result for row in outcomes(ReportFilter(waves=("m6",)))}
    ours |= {(f"{row.key['country']}/{row.key['partner']}", row.indicator): row.result
             for row in outcomes(ReportFilter(waves=("m6",)), ("country", "partner"))}
    names = {"score_composite": "composite", "score_economic": "economic", "flag_no_shelter": "no_shelter"}
    low, high = found.pop(("ci", "flag_no_shelter"))  # the share's logit interval, to the glm's tolerance
    share = ours[("all", "no_shelter")]
    assert (share.ci_low, share.ci_high) == pytest.approx((low, high), abs=1e-7)
    assert len(found) >= 5
    for (domain, variable), (value, se) in found.items():
        mine = ours[(domain, names[variable])]
        assert mine.estimate == pytest.approx(value, abs=1e-9), (domain, variable)
        assert mine.se == pytest.approx(se, abs=1e-9), (domain, variable)
