"""The operator's path from an empty database through the documented commands only, no fixture
data: install, add the local partner, import the returnees, plan and dispatch, take the work
list offline, import the submissions that come back, then the figures and the export. Both
databases."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, timedelta

from surveys import registry
from tests.test_organisations_cli import invoke

RETURNEES = "code,destination_country,partner,local_partner,return_date,language,channel,phone,consent"
SUBMISSION = ["SubmissionDate", "start", "end", "case", "questionnaire_version", "mode", "language", "consent",
              "first_follow_up", "housing-housing_situation", "income-work_status", "income-income_sources",
              "meta-instanceID", "KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected",
              "Status", "ReviewState", "DeviceID", "Edits", "FormVersion"]


def test_from_an_empty_database_to_the_figures(fresh, tmp_path):
    assert invoke(fresh, "db", "upgrade").exit_code == 0
    result = invoke(fresh, "organisations", "add", "caritas-ge", "--name", "Caritas Georgia", "--parent", "caritas",
                    "--country", "GE")
    assert result.exit_code == 0, result.output
    returned = (date.today() - timedelta(days=35)).isoformat()  # the one-month check is due
    returnees = tmp_path / "returnees.csv"
    returnees.write_text("\n".join([RETURNEES, *(
        f"GE-OP-00{n},GE,caritas,caritas-ge,{returned},ka,phone,555 12 34 5{n},yes" for n in range(3))]) + "\n")
    result = invoke(fresh, "import-returnees", str(returnees))
    assert result.exit_code == 0 and "3 created" in result.output, result.output
    assert invoke(fresh, "plan").exit_code == 0
    assert invoke(fresh, "dispatch").exit_code == 0  # phone-only returnees become phone tasks

    # The line is down: the work list goes into the field as a zip for Collect.
    zipped = tmp_path / "worklist.zip"
    result = invoke(fresh, "export", "worklist", "--organisation", "caritas-ge", "-o", str(zipped))
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(zipped) as archive:
        cases = list(csv.DictReader(io.StringIO(archive.read("cases.csv").decode())))
    assert sorted(case["code"] for case in cases) == ["GE-OP-000", "GE-OP-001", "GE-OP-002"]
    assert "phone" not in cases[0]  # exported without an account: no phone numbers

    # Back at the office: ODK Central's CSV of the submissions, imported twice (once counts).
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SUBMISSION)
    for n, case in enumerate(cases):
        key = f"uuid:10000000-0000-4000-8000-00000000000{n}"
        writer.writerow(["2026-11-23T10:00:00.000Z", "2026-11-23T12:00:00.000+04:00", "2026-11-23T12:30:00.000+04:00",
                         case["name"], registry.current().version, "phone", case["language"], "agree", case["first"],
                         "shelter" if n == 0 else "own", "employed", "work family", key, key, "3", "caller", "0",
                         "0", "", "", "collect:x", "0", "1"])
    submissions = tmp_path / "submissions.csv"
    submissions.write_text(buffer.getvalue())
    result = invoke(fresh, "import-responses", str(submissions))
    assert result.exit_code == 0 and "3 updated" in result.output, result.output
    result = invoke(fresh, "import-responses", str(submissions))
    assert result.exit_code == 0 and "3 skipped" in result.output, result.output

    # The figures: three completed surveys for Georgia with Caritas, all of them answered.
    result = invoke(fresh, "report", "caseload", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "Georgia,3,0,3" in result.output.splitlines()
    result = invoke(fresh, "report", "response", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert any(row["I"] == "3" and float(row["RR1"]) == 1.0 for row in rows), result.output
    result = invoke(fresh, "report", "caseload", "--organisation", "caritas-ge", "--format", "csv")
    assert result.output.splitlines()[:2] == ["country,Caritas International,Total", "Georgia,3,3"]

    # The pseudonymous export for R: one row per follow-up, never a phone number.
    exported = tmp_path / "responses.csv"
    result = invoke(fresh, "export", "responses", "--wave", "m1", "-o", str(exported))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(exported.read_text())))
    assert sorted(row["code"] for row in rows) == ["GE-OP-000", "GE-OP-001", "GE-OP-002"]
    assert {row["aapor"] for row in rows} == {"1.1"} and "+99555" not in exported.read_text()
