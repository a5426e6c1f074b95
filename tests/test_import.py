"""The returnee CSV import: the file contract, row validation with line numbers, what is written
and when, re-imports, consent that an import must never give back, the CLI and the web upload.

Every test runs on SQLite and on PostgreSQL (through the `app` fixture).
"""
from __future__ import annotations

import hashlib
import html
import io
import re
from datetime import date
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from monitor import codes
from monitor.extensions import cipher, db
from monitor.models import AuditEntry, Organisation, Returnee
from monitor.returnees import operations
from monitor.returnees.importing import import_returnees
from tests.conftest import finished_job_page

HEADER = "code,destination_country,partner,return_date,language,channel,phone,consent"
FULL = HEADER + ",local_partner,sex,birth_year,adults,children,vulnerabilities,support,name"
TODAY = date(2026, 11, 24)
PHONE = "555 12 34 56"  # a Georgian mobile number in national format
E164 = "+995555123456"
DEFAULTS = {"destination_country": "GE", "partner": "caritas", "return_date": "2026-09-01", "language": "ka",
            "channel": "sms", "phone": PHONE, "consent": "yes"}
NOT_UTF8 = 'the file is not UTF-8 text: in Excel, save it as "CSV UTF-8"'


# -- helpers ------------------------------------------------------------------------------------

def line(code, columns=HEADER, **values) -> str:
    """One CSV row for `columns`: the defaults, overridden by `values` (no quoting: keep commas out)."""
    cells = {**DEFAULTS, "code": code, **values}
    return ",".join(cells.get(column, "") for column in columns.split(","))


def csv_file(*rows, header=HEADER, eol="\n") -> bytes:
    return (eol.join((header, *rows)) + eol).encode()


def run(data: bytes, **options):
    return import_returnees(data, today=TODAY, actor="test", filename="returnees.csv", **options)


def errors(report):
    return [(e.line, e.code, e.message) for e in report.errors]


def committed_count(table="returnees") -> int:
    """Rows as another connection sees them: what an import really wrote (committed)."""
    with db.engine.connect() as conn:
        return conn.scalar(sa.text(f"SELECT count(*) FROM {table}"))


def committed_value(code, column):
    with db.engine.connect() as conn:
        return conn.scalar(sa.text(f"SELECT {column} FROM returnees WHERE code = :code"), {"code": code})


def case(code) -> Returnee:
    db.session.expire_all()  # see what other sessions (CLI, requests) committed
    return db.session.scalar(select(Returnee).where(Returnee.code == code))


def import_audits():
    db.session.expire_all()
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "returnee.import").order_by(AuditEntry.id)).all()


def events(returnee):
    return [(e.kind, e.channels, e.method) for e in returnee.consent_events]


# -- what a valid file creates ------------------------------------------------------------------

def test_a_valid_file_creates_each_case_with_its_values(orgs):
    data = csv_file(
        line("GE-001", FULL, partner="CARITAS", destination_country="Georgia", local_partner="Caritas-GE",
             sex="female", birth_year="1985", adults="2", children="3", vulnerabilities="medical;family with children",
             support="reintegration", name="Nino Beridze", language="KA", channel="SMS", consent="sms;phone"),
        line("AM-001", FULL, partner="iom", destination_country="ARM", phone="077 123456", channel="phone",
             consent="no", language="hy"),
        header=FULL)
    report = run(data)

    assert (report.rows, report.created, report.updated, report.unchanged) == (2, 2, 0, 0)
    assert report.errors == [] and report.warnings == [] and report.written
    assert committed_count() == 2

    ge = case("GE-001")
    assert (ge.destination_country, ge.partner_id, ge.local_partner_id) == ("GE", orgs["caritas"].id, orgs["caritas-ge"].id)
    assert (ge.return_date, ge.language, ge.preferred_channel) == (date(2026, 9, 1), "ka", "sms")
    assert ge.phone == E164 and ge.phone_lookup == cipher.lookup_hash(E164)
    assert ge.name == "Nino Beridze"
    assert (ge.sex, ge.birth_year, ge.adults, ge.children) == ("f", 1985, 2, 3)
    assert ge.vulnerabilities == ["family_with_children", "medical"]
    assert ge.support_package == "reintegration"
    assert ge.consent_given and ge.consent_channels == ["sms", "phone"] and ge.consent_method == "import"
    assert events(ge) == [("given", "phone sms", "import")]
    assert ge.may_contact("sms") and not ge.do_not_contact

    am = case("AM-001")
    assert (am.destination_country, am.partner_id, am.local_partner_id) == ("AM", orgs["iom"].id, None)
    assert (am.language, am.preferred_channel, am.phone) == ("hy", "phone", "+37477123456")
    assert (am.sex, am.birth_year, am.support_package, am.vulnerabilities) == (None, None, None, [])
    assert not am.consent_given and am.consent_channels == [] and events(am) == [("refused", "", "import")]

    # Identity is encrypted at rest.
    with db.engine.connect() as conn:
        stored_name, stored_phone = conn.execute(sa.text("SELECT name, phone FROM returnees WHERE code = 'GE-001'")).one()
    assert "Nino" not in stored_name and "555" not in stored_phone


@pytest.mark.parametrize("value, expected", [
    ("GE", "GE"), ("ge", "GE"), ("GEO", "GE"), ("geo", "GE"), ("Georgia", "GE"), (" georgia ", "GE"),
    ("ARM", "AM"), ("Armenia", "AM"),
])
def test_destination_country_as_alpha2_alpha3_or_english_name(orgs, value, expected):
    phone = PHONE if expected == "GE" else "077 123456"
    report = run(csv_file(line("X-1", destination_country=value, phone=phone)))
    assert report.errors == [] and report.created == 1
    assert case("X-1").destination_country == expected


def test_unknown_countries_are_rejected_with_their_line(orgs):
    report = run(csv_file(line("X-1"), line("X-2", destination_country="Georgie"),
                          line("X-3", destination_country="XX"), line("X-4", destination_country="")))
    assert errors(report) == [
        (3, "X-2", "unknown country 'Georgie': use an ISO code (GE, GEO) or the English name"),
        (4, "X-3", "unknown country 'XX': use an ISO code (GE, GEO) or the English name"),
        (5, "X-4", "the destination country is empty"),
    ]
    assert (report.rows, report.rejected, report.written) == (4, 3, False)
    assert committed_count() == 0


# -- dates --------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, message", [
    ("2026-02-30", "the return date 2026-02-30 does not exist"),
    ("2026-13-01", "the return date 2026-13-01 does not exist"),
    ("01/09/2026", "the return date '01/09/2026' is not written YYYY-MM-DD"),
    ("2026-9-1", "the return date '2026-9-1' is not written YYYY-MM-DD"),
    ("", "the return date '' is not written YYYY-MM-DD"),
    ("1989-12-31", "the return date 1989-12-31 is out of range"),
    ("2027-11-25", "the return date 2027-11-25 is out of range"),  # more than a year after TODAY
])
def test_bad_return_dates(orgs, value, message):
    report = run(csv_file(line("X-1"), line("X-2", return_date=value)))
    assert errors(report) == [(3, "X-2", message)]
    assert not report.written and committed_count() == 0


# -- phone numbers ------------------------------------------------------------------------------

@pytest.mark.parametrize("country, phone, expected", [
    ("GE", "555 12 34 56", E164),
    ("GE", "0555 12-34-56", E164),
    ("Georgia", "+995 (555) 12 34 56", E164),
    ("GEO", "00995555123456", E164),
    ("AM", "077 123456", "+37477123456"),
])
def test_phone_is_stored_as_e164(orgs, country, phone, expected):
    report = run(csv_file(line("X-1", destination_country=country, phone=phone)))
    assert report.errors == [] and report.created == 1
    assert committed_value("X-1", "phone_lookup") == cipher.lookup_hash(expected)
    assert case("X-1").phone == expected


INVALID_PHONES = ("555 12", "not a number", "+995 12", "0032 1")


def test_invalid_phone_numbers_are_rejected_without_repeating_them(orgs):
    report = run(csv_file(line("X-1"), *(line(f"X-{i}", phone=p) for i, p in enumerate(INVALID_PHONES, start=2))))
    assert errors(report) == [
        (3, "X-2", "the phone number is not a valid number (checked for GE)"),
        (4, "X-3", "the phone number cannot be read: use digits and spaces, country code first"),
        (5, "X-4", "the phone number is not a valid number (checked for GE)"),
        (6, "X-5", "the phone number cannot be read: use digits and spaces, country code first"),
    ]
    text = "\n".join(str(e) for e in report.errors)
    for phone in INVALID_PHONES:
        assert phone not in text
    for digits in ("55512", "99512", "00321"):
        assert digits not in text.replace(" ", "")
    assert committed_count() == 0


def test_a_channel_that_needs_a_phone_without_one(orgs):
    report = run(csv_file(line("X-1", phone=""), line("X-2", channel="phone", phone=""),
                          line("X-3", channel="none", phone=""), line("X-4", channel="sms", phone="555 12")),
                 skip_invalid=True)
    assert errors(report) == [
        (2, "X-1", "channel sms needs a phone number"),
        (3, "X-2", "channel phone needs a phone number"),
        (5, "X-4", "the phone number is not a valid number (checked for GE)"),  # not also "needs a phone"
    ]
    assert (report.created, report.rejected) == (1, 3)
    x3 = case("X-3")
    assert x3.preferred_channel == "none" and x3.phone is None and x3.phone_lookup is None


def test_sms_without_phone_in_the_file_is_fine_when_one_is_stored(returnees):
    report = run(csv_file(line("GE-C-001", phone="")))
    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)
    assert case("GE-C-001").phone == E164


# -- rows and the file as a whole ---------------------------------------------------------------

def test_duplicate_codes_report_the_later_line_naming_the_first(orgs):
    data = csv_file(line("GE-001"), line("GE-002"), line("GE-001", language="ru"), line("GE-003"),
                    line("GE-002", return_date="2026-02-30"))
    report = run(data)
    assert errors(report) == [
        (4, "GE-001", "the code is already on line 2"),
        (6, "GE-002", "the code is already on line 3"),
    ]
    assert (report.rows, report.rejected, report.written) == (5, 2, False)
    assert committed_count() == 0

    report = run(data, skip_invalid=True)
    assert (report.created, report.rejected) == (3, 2)
    assert committed_count() == 3
    assert case("GE-001").language == "ka"  # the first line's values


def test_missing_columns(orgs):
    header = "code,destination_country,partner,return_date,language,channel"
    report = run(csv_file("GE-001,GE,caritas,2026-09-01,ka,none", header=header))
    assert errors(report) == [(0, None, "missing columns: phone, consent")]
    assert str(report.errors[0]) == "file: missing columns: phone, consent"
    assert (report.rows, report.rejected, report.file_error, report.written) == (0, 1, True, False)
    assert committed_count() == 0


def test_unknown_and_repeated_columns(orgs):
    report = run(csv_file(line("GE-001") + ",x@example.org,hi", header=HEADER + ",email,Notes"))
    assert errors(report) == [(0, None, "unknown columns: email, notes")]

    report = run(csv_file(line("GE-001") + ",", header=HEADER.replace(",consent", ",consent_sms") + ",name"))
    assert errors(report) == [(0, None, "missing columns: consent; unknown columns: consent_sms")]

    report = run(csv_file(line("GE-001") + ",GE-001", header=HEADER + ",Code"))
    assert errors(report) == [(0, None, "columns given twice: code")]
    assert committed_count() == 0


def test_header_names_ignore_case_spaces_and_order(orgs):
    header = " Consent ,PHONE,channel,Language,return_date,partner,destination_country,CODE"
    report = run(csv_file("yes,555 12 34 56,sms,ka,2026-09-01,caritas,GE,GE-001", header=header))
    assert report.errors == [] and report.created == 1
    returnee = case("GE-001")
    assert (returnee.phone, returnee.partner_id) == (E164, orgs["caritas"].id)


def test_excel_file_with_bom_semicolons_and_crlf(orgs):
    data = "\ufeff" + "\r\n".join([
        "code;destination_country;partner;return_date;language;channel;phone;consent;vulnerabilities;name;;",
        'GE-001;Georgia;caritas;2026-09-01;ka;sms;555 12 34 56;"sms;phone";"medical;other";Nino Béridzé;;',
        ";;;;;;;;;;;",  # an empty row as Excel writes it
        'GE-002;GE;IOM;2026-09-02;ru;phone;+995 555 65 43 21;phone;;"Beridze; Nino";;',
    ]) + "\r\n"
    report = run(data.encode("utf-8"))
    assert report.errors == []
    assert (report.rows, report.created) == (2, 2)
    first, second = case("GE-001"), case("GE-002")
    assert first.consent_channels == ["sms", "phone"] and first.vulnerabilities == ["medical", "other"]
    assert first.name == "Nino Béridzé" and first.phone == E164
    assert second.partner_id == orgs["iom"].id and second.consent_channels == ["phone"]
    assert second.name == "Beridze; Nino" and second.phone == "+995555654321"


def test_tab_separated_file(orgs):
    data = csv_file(line("X-1").replace(",", "\t"), line("X-2", consent="sms;phone").replace(",", "\t"),
                    header=HEADER.replace(",", "\t"))
    report = run(data)
    assert report.errors == [] and report.created == 2
    assert case("X-2").consent_channels == ["sms", "phone"] and case("X-1").phone == E164


@pytest.mark.parametrize("eol", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_crlf_and_cr_line_endings(orgs, eol):
    data = csv_file(line("X-1", consent="sms"), line("X-2", return_date="2026-02-30"), line("X-3", consent="no"),
                    eol=eol)
    report = run(data, skip_invalid=True)
    assert errors(report) == [(3, "X-2", "the return date 2026-02-30 does not exist")]
    assert report.created == 2
    assert case("X-1").consent_channels == ["sms"]  # the last cell holds no stray "\r"
    assert case("X-3").consent_given is False


@pytest.mark.parametrize("data", [b"", b"\n\n", b"  \r\n \t \r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"],
                         ids=["empty", "newlines", "spaces", "bom", "bom-newline"])
def test_empty_file(orgs, data):
    report = run(data)
    assert errors(report) == [(0, None, "the file is empty")]
    assert report.file_error and not report.written and report.rows == 0


@pytest.mark.parametrize("data", [
    (HEADER + "\n").encode(),
    (HEADER + "\r\n\r\n").encode(),
    b"\xef\xbb\xbf" + HEADER.replace(",", ";").encode() + b";;\r\n;;;;;;;;;;\r\n",
], ids=["lf", "crlf-blank-line", "excel"])
def test_header_only_file(orgs, data):
    report = run(data)
    assert [str(e) for e in report.errors] == ["file: the file has a header but no rows"]
    assert not report.written and committed_count() == 0


def test_blank_lines_before_the_header_are_skipped(orgs):
    report = run(b"\r\n\r\n" + csv_file(line("GE-001")))
    assert report.errors == [] and report.created == 1


def test_inactive_local_partner_is_refused(orgs):
    orgs["caritas-ge"].active = False
    db.session.commit()
    columns = HEADER + ",local_partner"
    report = run(csv_file(line("GE-001", columns, local_partner="caritas-ge"), header=columns))
    assert [e.message for e in report.errors] == ["unknown local partner 'caritas-ge'"]


def test_dates_in_other_digits_are_not_iso(orgs):
    report = run(csv_file(line("GE-001", return_date="٢٠٢٦-٠٩-٠١")))
    assert "is not written YYYY-MM-DD" in report.errors[0].message


@pytest.mark.parametrize("data", [
    csv_file(line("GE-001", FULL, name="Nino Beridz\u00e9"), header=FULL).decode().encode("cp1252"),
    ("\ufeff" + HEADER + "\r\n" + line("GE-001") + "\r\n").encode("utf-16"),
], ids=["cp1252", "utf-16"])
def test_a_file_not_in_utf8_gets_a_clear_message(orgs, data):
    report = run(data)
    assert errors(report) == [(0, None, NOT_UTF8)]
    assert str(report.errors[0]) == "file: " + NOT_UTF8
    assert report.file_error and not report.written and committed_count() == 0


def test_a_file_the_csv_module_cannot_read_is_a_file_error(orgs):
    report = run(csv_file(line("X-1", HEADER + ",name", name="x" * 200_000), header=HEADER + ",name"))
    assert errors(report) == [(0, None, "the file cannot be read as CSV: field larger than field limit (131072)")]
    assert report.file_error and not report.written and committed_count() == 0


def test_blank_lines_are_skipped_and_line_numbers_stay_those_of_the_file(orgs):
    data = csv_file("", line("X-1"), "", " , ,", line("X-2", language="de"))
    report = run(data)
    assert report.rows == 2
    assert [(e.line, e.code) for e in report.errors] == [(6, "X-2")]
    assert report.errors[0].message.startswith("unknown language 'de': use one of en, fr, nl")


def test_more_cells_than_columns(orgs):
    data = csv_file(line("X-1", FULL, name="Nino") + ",,",  # trailing empty cells are fine
                    line("X-2", FULL, name="Beridze, Nino"), header=FULL)
    report = run(data)
    assert errors(report) == [(3, None, "more cells than columns: a value that holds the separator must be in quotes")]
    assert report.rejected == 1 and committed_count() == 0


def test_every_problem_of_a_row_is_reported(orgs):
    data = csv_file(
        line("X-1", FULL, sex="q", birth_year="1985.5", adults="51", children="-1", support="medical;return_only"),
        "X-2,GE,caritas",  # a short row: the missing cells are empty
        header=FULL)
    report = run(data)
    assert errors(report) == [
        (2, "X-1", "sex 'q' is not understood: use f, m or x"),
        (2, "X-1", "column birth_year: '1985.5' is not a whole number"),
        (2, "X-1", "column adults: 51 is out of range (0 to 50)"),
        (2, "X-1", "column children: '-1' is not a whole number"),
        (2, "X-1", "column support: give only one value"),
        (3, "X-2", "the return date '' is not written YYYY-MM-DD"),
        (3, "X-2", "unknown language '': use one of " + ", ".join(codes.RETURNEE_LANGUAGES)),
        (3, "X-2", "unknown channel '': use sms, phone or none"),
        (3, "X-2", "consent '' is not understood: use yes, no, sms, phone or sms;phone"),
    ]
    assert (report.rows, report.rejected) == (2, 2)


def test_bad_case_codes(orgs):
    report = run(csv_file(line(""), line("GE 001"), line("X" * 41)))
    assert errors(report) == [
        (2, None, "the case code is empty"),
        (3, "GE 001", "the case code 'GE 001' may only hold letters, digits and . _ - (at most 40)"),
        (4, "X" * 41, f"the case code {'X' * 41!r} may only hold letters, digits and . _ - (at most 40)"),
    ]


# -- partners -----------------------------------------------------------------------------------

def test_unknown_partner(orgs):
    db.session.add_all([Organisation(code="enabel", name="Enabel", kind="reintegration"),
                        Organisation(code="old", name="Former partner", kind="reintegration", active=False)])
    db.session.commit()
    report = run(csv_file(line("X-1", partner="fedasil"), line("X-2", partner=""), line("X-3", partner="caritas-ge"),
                          line("X-4", partner="IOM"), line("X-5", partner="Caritas"), line("X-6", partner="old"),
                          line("X-7", partner="ENABEL")),
                 skip_invalid=True)
    choices = "use one of caritas, enabel, iom"
    assert errors(report) == [
        (2, "X-1", f"unknown partner 'fedasil': {choices}"),
        (3, "X-2", "the partner is empty"),
        (4, "X-3", f"unknown partner 'caritas-ge': {choices}"),  # a local partner is not a partner
        (7, "X-6", f"unknown partner 'old': {choices}"),  # deactivated
    ]
    assert report.created == 3
    assert case("X-4").partner_id == orgs["iom"].id and case("X-5").partner_id == orgs["caritas"].id
    assert case("X-7").partner.code == "enabel"


def test_local_partner_must_work_with_the_partner(orgs):
    columns = HEADER + ",local_partner"
    report = run(csv_file(line("X-1", columns, local_partner="iom-ge"),
                          line("X-2", columns, partner="iom", local_partner="caritas-ge"),
                          line("X-3", columns, local_partner="caritas-xx"),
                          line("X-4", columns, local_partner="iom"),
                          line("X-5", columns, local_partner="CARITAS-GE"),
                          line("X-6", columns, partner="iom", local_partner="iom-ge"),
                          header=columns), skip_invalid=True)
    assert errors(report) == [
        (2, "X-1", "local partner iom-ge does not work with caritas"),
        (3, "X-2", "local partner caritas-ge does not work with iom"),
        (4, "X-3", "unknown local partner 'caritas-xx'"),
        (5, "X-4", "unknown local partner 'iom'"),
    ]
    assert case("X-5").local_partner_id == orgs["caritas-ge"].id
    assert case("X-6").local_partner_id == orgs["iom-ge"].id


def test_changing_partner_cannot_keep_a_local_partner_of_the_old_one(orgs, returnees):
    # GE-C-001: Caritas, local partner Caritas Georgia. Moving it to IOM with an empty local partner
    # cell would leave it with Caritas Georgia, whose staff would then see an IOM case.
    columns = HEADER + ",local_partner"
    for data in (csv_file(line("GE-C-001", partner="iom")),
                 csv_file(line("GE-C-001", columns, partner="iom"), header=columns)):
        report = run(data)
        assert errors(report) == [
            (2, "GE-C-001", "the case's local partner caritas-ge does not work with iom: give its local partner")]
    assert committed_value("GE-C-001", "partner_id") == orgs["caritas"].id

    report = run(csv_file(line("GE-C-001", columns, partner="iom", local_partner="iom-ge"),
                          line("GE-C-002", partner="iom"), header=columns))
    assert report.errors == [] and report.updated == 2
    moved = case("GE-C-001")
    assert (moved.partner_id, moved.local_partner_id) == (orgs["iom"].id, orgs["iom-ge"].id)
    assert case("GE-C-002").partner_id == orgs["iom"].id


# -- vulnerabilities and other optional columns -------------------------------------------------

def test_vulnerability_lists(orgs):
    columns = HEADER + ",vulnerabilities"
    report = run(csv_file(line("X-1", columns, vulnerabilities="medical; Trafficking victim;medical"), header=columns))
    assert report.errors == [] and case("X-1").vulnerabilities == ["medical", "trafficking_victim"]

    report = run(csv_file(line("X-1", columns, vulnerabilities="Other"), header=columns))
    assert report.updated == 1 and case("X-1").vulnerabilities == ["other"]
    assert committed_count("returnee_vulnerabilities") == 1

    report = run(csv_file(line("X-1", columns, vulnerabilities=""), header=columns))  # empty keeps them
    assert report.unchanged == 1 and case("X-1").vulnerabilities == ["other"]

    report = run(csv_file(line("X-1", columns, vulnerabilities="medical;pregnant"), header=columns))
    assert errors(report) == [
        (2, "X-1", "column vulnerabilities: unknown value 'pregnant': use " + ", ".join(codes.VULNERABILITIES))]
    assert case("X-1").vulnerabilities == ["other"]


def test_empty_optional_cells_keep_the_stored_values(orgs, returnees):
    full = line("GE-C-001", FULL, local_partner="caritas-ge", sex="m", birth_year="1979", adults="1", children="2",
                vulnerabilities="medical", support="return_only", name="Giorgi Beridze", phone="555 65 43 21")
    assert run(csv_file(full, header=FULL)).updated == 1
    report = run(csv_file(line("GE-C-001", FULL, phone=""), header=FULL))
    assert report.errors == [] and (report.updated, report.unchanged) == (0, 1)
    kept = case("GE-C-001")
    assert (kept.local_partner_id, kept.sex, kept.birth_year, kept.adults, kept.children) == (
        orgs["caritas-ge"].id, "m", 1979, 1, 2)
    assert (kept.vulnerabilities, kept.support_package) == (["medical"], "return_only")
    assert (kept.name, kept.phone) == ("Giorgi Beridze", "+995555654321")


# -- what gets written, and when ----------------------------------------------------------------

def mixed_file() -> bytes:
    """Two valid rows (a new case, an update of GE-C-001) and an invalid one."""
    return csv_file(line("GE-001"), line("GE-C-001", language="ru"), line("GE-002", destination_country="Georgie"))


def test_dry_run_writes_nothing(returnees):
    report = run(csv_file(line("GE-001"), line("GE-C-001", language="ru")), dry_run=True)
    assert report.errors == [] and report.rows == 2 and not report.written
    assert committed_count() == 4 and committed_value("GE-C-001", "language") == "ka"
    assert import_audits() == []

    report = run(mixed_file(), dry_run=True, skip_invalid=True)
    assert report.rejected == 1 and not report.written
    assert committed_count() == 4 and committed_value("GE-C-001", "language") == "ka"
    assert import_audits() == []


def test_by_default_an_invalid_row_stops_the_whole_import(returnees):
    report = run(mixed_file())
    assert errors(report) == [
        (4, "GE-002", "unknown country 'Georgie': use an ISO code (GE, GEO) or the English name")]
    assert (report.rows, report.rejected, report.created, report.updated, report.written) == (3, 1, 0, 0, False)
    assert committed_count() == 4 and committed_value("GE-C-001", "language") == "ka"
    assert import_audits() == []


def test_skip_invalid_writes_the_valid_rows(returnees):
    data = mixed_file()
    report = run(data, skip_invalid=True)
    assert report.written and (report.created, report.updated, report.unchanged, report.rejected) == (1, 1, 0, 1)
    assert committed_count() == 5
    assert committed_value("GE-C-001", "language") == "ru" and committed_value("GE-002", "code") is None
    [audit] = import_audits()
    assert (audit.actor, audit.user_id, audit.object_type) == ("test", None, None)
    assert audit.details == {"file": "returnees.csv", "sha256": hashlib.sha256(data).hexdigest(), "rows": 3,
                             "created": 1, "updated": 1, "unchanged": 0, "rejected": 1}


def test_reimport_updates_instead_of_duplicating(orgs):
    report = run(csv_file(line("GE-001"), line("GE-002")))
    assert report.created == 2

    data = csv_file(line("GE-001", language="ru", return_date="2026-09-15"), line("GE-002"), line("GE-003"))
    report = run(data)
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    assert committed_count() == 3
    updated = case("GE-001")
    assert (updated.language, updated.return_date) == ("ru", date(2026, 9, 15))
    assert events(updated) == [("given", "phone sms", "import")]  # consent did not change

    report = run(data)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert committed_count() == 3 and committed_count("consent_events") == 3
    assert [a.details["unchanged"] for a in import_audits()] == [0, 1, 3]


def test_reimport_of_an_unchanged_case_leaves_its_consent_record_alone(returnees):
    # GE-C-001 consented in writing to sms and phone; the case file says "yes".
    columns = HEADER + ",local_partner,name"
    report = run(csv_file(line("GE-C-001", columns, phone=E164, local_partner="caritas-ge", name="Nino Beridze"),
                          header=columns))
    assert (report.updated, report.unchanged) == (0, 1)
    returnee = case("GE-C-001")
    assert returnee.consent_method == "written" and events(returnee) == [("given", "phone sms", "written")]


def test_reimport_changes_consent_channels(returnees):
    report = run(csv_file(line("GE-C-001", consent="sms")))
    assert report.updated == 1
    returnee = case("GE-C-001")
    assert returnee.consent_channels == ["sms"] and returnee.consent_method == "import"
    assert events(returnee) == [("given", "phone sms", "written"), ("given", "sms", "import")]


def test_reimport_with_no_consent_withdraws_it_and_a_later_yes_does_not_give_it_back(returnees):
    report = run(csv_file(line("GE-C-002", consent="no")))
    assert report.updated == 1 and report.warnings == []
    returnee = case("GE-C-002")
    assert returnee.consent_withdrawn_at is not None and not returnee.consent_active
    assert events(returnee)[-1] == ("withdrawn", "sms phone", "import")
    withdrawal = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "returnee.consent.withdraw"))
    assert (withdrawal.object_id, withdrawal.actor) == ("GE-C-002", "test")

    report = run(csv_file(line("GE-C-002", consent="yes")))
    assert report.unchanged == 1 and len(report.warnings) == 1
    assert case("GE-C-002").consent_withdrawn_at is not None


def test_reimport_after_a_withdrawal_in_the_platform_keeps_it_withdrawn_and_warns(returnees):
    returnee = returnees["caritas"]  # GE-C-002
    assert operations.withdraw_consent(returnee, "verbal")
    db.session.commit()
    withdrawn_at = returnee.consent_withdrawn_at
    day = withdrawn_at.astimezone(ZoneInfo("Europe/Brussels"))  # the display time zone; the month in words

    report = run(csv_file(line("GE-C-002", language="ru", consent="yes")))
    assert report.errors == [] and (report.updated, report.unchanged) == (1, 0)  # the language changed
    assert [(w.line, w.code, w.message) for w in report.warnings] == [
        (2, "GE-C-002", f"consent was withdrawn on {day:%b} {day.day}, {day.year}; the import does not give it again")]
    again = case("GE-C-002")
    assert again.language == "ru"
    assert again.consent_withdrawn_at == withdrawn_at and not again.consent_active and not again.may_contact("sms")
    assert [kind for kind, _channels, _method in events(again)] == ["given", "withdrawn"]

    report = run(csv_file(line("GE-C-002", language="ru", consent="no")))  # nothing to warn about
    assert report.warnings == [] and report.unchanged == 1


def test_reimport_never_clears_do_not_contact(returnees):
    returnee = returnees["caritas-ge"]  # GE-C-001
    assert operations.set_do_not_contact(returnee, True)
    db.session.commit()
    report = run(csv_file(line("GE-C-001", language="ru", consent="yes", channel="phone")))
    assert report.errors == [] and report.updated == 1
    again = case("GE-C-001")
    assert again.do_not_contact and again.do_not_contact_at is not None
    assert not again.may_contact("phone") and again.preferred_channel == "phone"


# -- the command line ---------------------------------------------------------------------------

def cli(app, tmp_path, data: bytes, *options):
    path = tmp_path / "returnees.csv"
    path.write_bytes(data)
    return app.test_cli_runner().invoke(args=["import-returnees", *options, str(path)])


def cli_file() -> bytes:
    """Line 2 valid, line 3 an impossible date, line 4 an invalid phone number."""
    return csv_file(line("GE-001"), line("GE-002", return_date="2026-02-30"), line("GE-003", phone="555 99"))


CLI_ERRORS = [
    "error: line 3 (GE-002): the return date 2026-02-30 does not exist",
    "error: line 4 (GE-003): the phone number is not a valid number (checked for GE)",
]


def test_cli_imports_a_valid_file(app, orgs, tmp_path):
    result = cli(app, tmp_path, csv_file(line("GE-001"), line("GE-002")))
    assert result.exit_code == 0, result.output
    assert result.stdout == "2 rows read: 2 created, 0 updated, 0 unchanged, 0 rejected\n"
    assert result.stderr == ""
    assert committed_count() == 2
    [audit] = import_audits()
    assert audit.actor == "cli" and audit.user_id is None and audit.details["created"] == 2
    assert audit.details["file"].endswith("returnees.csv")


def test_cli_reports_each_invalid_row_and_writes_nothing(app, orgs, tmp_path):
    result = cli(app, tmp_path, cli_file())
    assert result.exit_code == 1
    assert result.stderr.splitlines() == CLI_ERRORS
    assert result.stdout == ("nothing written: 2 of 3 rows are invalid "
                             "(fix them, or use --skip-invalid to write the valid rows)\n")
    assert "555 99" not in result.output and "55599" not in result.output
    assert committed_count() == 0 and import_audits() == []


def test_cli_skip_invalid_writes_the_valid_rows_and_still_fails(app, orgs, tmp_path):
    result = cli(app, tmp_path, cli_file(), "--skip-invalid")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == CLI_ERRORS
    assert result.stdout == "3 rows read: 1 created, 0 updated, 0 unchanged, 2 rejected\n"
    assert committed_count() == 1 and committed_value("GE-001", "language") == "ka"
    [audit] = import_audits()
    assert (audit.actor, audit.details["rejected"], audit.details["created"]) == ("cli", 2, 1)


def test_cli_dry_run(app, orgs, tmp_path):
    result = cli(app, tmp_path, csv_file(line("GE-001"), line("GE-002")), "--dry-run")
    assert result.exit_code == 0
    assert result.stdout == "dry run: 2 rows read, 2 valid, 0 rejected; nothing written\n"

    result = cli(app, tmp_path, cli_file(), "--dry-run", "--skip-invalid")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == CLI_ERRORS
    assert result.stdout == "dry run: 3 rows read, 1 valid, 2 rejected; nothing written\n"
    assert committed_count() == 0 and import_audits() == []


def test_cli_file_that_cannot_be_imported(app, orgs, tmp_path):
    result = cli(app, tmp_path, (HEADER + "\nGE-001,Géorgie,caritas,2026-09-01,ka,sms,,yes\n").encode("cp1252"))
    assert result.exit_code == 1
    assert result.stderr == f"error: file: {NOT_UTF8}\n"
    assert result.stdout == "nothing written: the file cannot be imported\n"

    result = cli(app, tmp_path, b"code,phone\n")
    assert result.exit_code == 1
    assert result.stderr == ("error: file: missing columns: destination_country, partner, return_date, "
                             "language, channel, consent\n")
    assert committed_count() == 0


def test_cli_reimport_reports_unchanged_rows_and_warns_about_withdrawn_consent(app, returnees, tmp_path):
    operations.withdraw_consent(returnees["caritas"], "verbal")
    db.session.commit()
    data = csv_file(line("GE-C-001"), line("GE-C-002"), line("GE-001"))
    result = cli(app, tmp_path, data)
    assert result.exit_code == 0, result.output
    assert result.stdout == "3 rows read: 1 created, 0 updated, 2 unchanged, 0 rejected\n"
    [warning] = result.stderr.splitlines()
    assert warning.startswith("warning: line 3 (GE-C-002): consent was withdrawn on ")
    assert committed_count() == 5
    assert case("GE-C-002").consent_withdrawn_at is not None


# -- the web upload -----------------------------------------------------------------------------

def upload(browser, data: bytes, **fields):
    """Upload a file and, when that started an import job, the job's page once it has ended."""
    response = browser.post("/returnees/import", {"file": (io.BytesIO(data), "returnees.csv"), **fields})
    if response.status_code == 302 and "/returnees/import/" in response.location:
        response = finished_job_page(browser, response.location)
    return response, html.unescape(response.get_data(as_text=True))


def test_upload_page_checks_only_by_default(users, browser_for):
    page = browser_for(users["admin"]).get("/returnees/import").get_data(as_text=True)
    [dry_run] = re.findall(r'<input[^>]*name="dry_run"[^>]*>', page)
    [skip_invalid] = re.findall(r'<input[^>]*name="skip_invalid"[^>]*>', page)
    assert "checked" in dry_run and "checked" not in skip_invalid


def test_upload_with_dry_run_writes_nothing(users, browser_for):
    response, page = upload(browser_for(users["admin"]), csv_file(line("GE-001"), line("GE-002")), dry_run="y")
    assert response.status_code == 200
    assert "The file is valid: 2 rows. Nothing was written yet; untick the first box to import." in page
    assert committed_count() == 0 and import_audits() == []


def test_upload_imports_when_dry_run_is_unticked(users, browser_for):
    response, page = upload(browser_for(users["admin"]), csv_file(line("GE-001"), line("GE-002")))
    assert response.status_code == 200
    assert "Import done: 2 created, 0 updated, 0 unchanged." in page
    assert "2 rows read: 2 created, 0 updated, 0 unchanged, 0 rejected." in page
    assert committed_count() == 2
    [audit] = import_audits()
    assert (audit.user_id, audit.actor, audit.details["file"]) == (users["admin"].id, "admin@example.org", "returnees.csv")


def test_upload_with_an_invalid_row_lists_it_and_writes_nothing(users, browser_for):
    data = csv_file(line("GE-001"), line("GE-002", destination_country="Georgie"), line("GE-003", phone="555 99"))
    response, page = upload(browser_for(users["admin"]), data, dry_run="")
    assert response.status_code == 200
    assert "Nothing was written: 2 of 3 rows are invalid." in page
    assert "line 3 (GE-002): unknown country 'Georgie': use an ISO code (GE, GEO) or the English name" in page
    assert "line 4 (GE-003): the phone number is not a valid number (checked for GE)" in page
    assert "555 99" not in page
    assert committed_count() == 0 and import_audits() == []


def test_upload_skip_invalid_writes_the_valid_rows(users, browser_for):
    data = csv_file(line("GE-001"), line("GE-002", destination_country="Georgie"))
    response, page = upload(browser_for(users["admin"]), data, skip_invalid="y")
    assert "2 rows read: 1 created, 0 updated, 0 unchanged, 1 rejected." in page
    assert "line 3 (GE-002): unknown country 'Georgie'" in page
    assert committed_count() == 1 and committed_value("GE-001", "destination_country") == "GE"
    assert import_audits()[0].details["rejected"] == 1


def test_upload_of_a_file_that_cannot_be_imported(users, browser_for):
    columns = HEADER + ",name"
    data = csv_file(line("GE-001", columns, name="Beridzé"), header=columns).decode().encode("cp1252")
    response, page = upload(browser_for(users["admin"]), data)
    assert response.status_code == 200
    assert "Nothing was written: the file cannot be imported." in page
    assert f"file: {NOT_UTF8}" in page
    assert committed_count() == 0


def test_upload_without_a_file(users, browser_for):
    response = browser_for(users["admin"]).post("/returnees/import", {})
    assert response.status_code == 200
    assert "Choose a file." in response.get_data(as_text=True)
    assert import_audits() == []


@pytest.mark.parametrize("role", ["analyst", "caritas", "caritas-ge", "iom"])
def test_only_an_admin_may_upload(users, browser_for, role):
    response, _page = upload(browser_for(users[role]), csv_file(line("GE-001")))
    assert response.status_code == 403
    assert committed_count() == 0 and import_audits() == []


def test_anonymous_upload_goes_to_login(orgs, browser_for):
    response, _page = upload(browser_for(), csv_file(line("GE-001")))
    assert response.status_code == 302 and "/login" in response.location
    assert committed_count() == 0
