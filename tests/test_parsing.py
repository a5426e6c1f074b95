"""The parsers behind the CSV import and the edit form: what is accepted, what it becomes, and the
message when it cannot be stored. Pure functions: no app, no database."""
from __future__ import annotations

from datetime import date

import pytest

from monitor import codes
from monitor.returnees.parsing import (
    InvalidValue, parse_case_code, parse_channel, parse_code, parse_code_list, parse_consent, parse_country,
    parse_int, parse_language, parse_phone, parse_return_date, parse_sex,
)

TODAY = date(2026, 11, 24)


def message(parse, *args) -> str:
    with pytest.raises(InvalidValue) as caught:
        parse(*args)
    return str(caught.value)


# -- case code ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [("GE-C-001", "GE-C-001"), ("  a.b_c-9 ", "a.b_c-9"), ("X" * 40, "X" * 40)])
def test_case_code_accepted(value, expected):
    assert parse_case_code(value) == expected


def test_case_code_rejected():
    assert message(parse_case_code, "  ") == "the case code is empty"
    assert message(parse_case_code, "GE 001") == (
        "the case code 'GE 001' may only hold letters, digits and . _ - (at most 40)")
    assert "may only hold" in message(parse_case_code, "X" * 41)
    assert "may only hold" in message(parse_case_code, "-GE001")  # must start with a letter or digit
    assert "may only hold" in message(parse_case_code, "GÉ001")


# -- country ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("GE", "GE"), ("ge", "GE"), ("GEO", "GE"), ("geo", "GE"), ("Georgia", "GE"), (" georgia ", "GE"),
    ("ARM", "AM"), ("Armenia", "AM"), ("IRQ", "IQ"), ("Iraq", "IQ"), ("MA", "MA"), ("Morocco", "MA"),
])
def test_country_as_alpha2_alpha3_or_english_name(value, expected):
    assert parse_country(value) == expected


def test_country_rejected():
    assert message(parse_country, "") == "the destination country is empty"
    assert message(parse_country, "Georgie") == (
        "unknown country 'Georgie': use an ISO code (GE, GEO) or the English name")
    assert message(parse_country, "XX").startswith("unknown country 'XX'")
    assert message(parse_country, "Géorgie").startswith("unknown country 'Géorgie'")


# -- return date --------------------------------------------------------------------------------

def test_return_date_iso():
    assert parse_return_date("2026-09-01", TODAY) == date(2026, 9, 1)
    assert parse_return_date(" 2024-02-29 ", TODAY) == date(2024, 2, 29)  # a leap day exists
    assert parse_return_date("1990-01-01", TODAY) == date(1990, 1, 1)
    assert parse_return_date("2027-11-24", TODAY) == date(2027, 11, 24)  # up to a year ahead


@pytest.mark.parametrize("value", ["2026-02-30", "2026-13-01", "2026-00-10", "2026-04-31", "2025-02-29"])
def test_impossible_return_date(value):
    assert message(parse_return_date, value, TODAY) == f"the return date {value} does not exist"


@pytest.mark.parametrize("value", ["01/09/2026", "1-9-2026", "2026-9-1", "20260901", "2026/09/01", "", "1 Sept 2026"])
def test_return_date_not_iso(value):
    assert message(parse_return_date, value, TODAY) == f"the return date {value!r} is not written YYYY-MM-DD"


@pytest.mark.parametrize("value", ["1989-12-31", "2027-11-25", "2099-01-01"])
def test_return_date_out_of_range(value):
    assert message(parse_return_date, value, TODAY) == f"the return date {value} is out of range"


def test_return_date_limit_on_a_leap_day():
    assert parse_return_date("2029-02-28", date(2028, 2, 29)) == date(2029, 2, 28)
    assert "out of range" in message(parse_return_date, "2029-03-01", date(2028, 2, 29))


# -- phone --------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, country, expected", [
    ("555 12 34 56", "GE", "+995555123456"),  # national format of the destination country
    ("0555 12 34 56", "GE", "+995555123456"),
    ("00995555123456", "GE", "+995555123456"),  # international prefix dialled from Georgia
    ("+995 555-12-34-56", "AM", "+995555123456"),  # an international number whatever the country
    ("077 123456", "AM", "+37477123456"),
    ("+32 470 12 34 56", "GE", "+32470123456"),  # still on a Belgian number
])
def test_phone_to_e164(value, country, expected):
    assert parse_phone(value, country) == expected


def test_empty_phone_is_none():
    assert parse_phone("", "GE") is None
    assert parse_phone("   ", "GE") is None


@pytest.mark.parametrize("value, expected", [
    ("555 12", "the phone number is not a valid number (checked for GE)"),
    ("+995 12", "the phone number is not a valid number (checked for GE)"),
    ("not a number", "the phone number cannot be read: use digits and spaces, country code first"),
    ("+", "the phone number cannot be read: use digits and spaces, country code first"),
    ("9" * 30, "the phone number cannot be read: use digits and spaces, country code first"),
])
def test_invalid_phone_message_never_holds_the_number(value, expected):
    text = message(parse_phone, value, "GE")
    assert text == expected
    digits = "".join(c for c in value if c.isdigit())
    assert value not in text and (not digits or digits not in text)


# -- language, channel, consent -----------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [("ka", "ka"), (" KA ", "ka"), ("pt-br", "pt_BR"), ("PT_BR", "pt_BR")])
def test_language(value, expected):
    assert parse_language(value) == expected


def test_unknown_language():
    assert message(parse_language, "de") == (
        "unknown language 'de': use one of " + ", ".join(codes.RETURNEE_LANGUAGES))
    assert message(parse_language, "").startswith("unknown language ''")


@pytest.mark.parametrize("value, expected", [("sms", "sms"), (" SMS ", "sms"), ("Phone", "phone"), ("none", "none")])
def test_channel(value, expected):
    assert parse_channel(value) == expected


def test_unknown_channel():
    assert message(parse_channel, "email") == "unknown channel 'email': use sms, phone or none"
    assert message(parse_channel, "").startswith("unknown channel ''")


@pytest.mark.parametrize("value, expected", [
    ("yes", ["sms", "phone"]), ("Oui", ["sms", "phone"]), ("JA", ["sms", "phone"]), ("1", ["sms", "phone"]),
    ("no", []), ("Non", []), ("nee", []), ("0", []),
    ("sms", ["sms"]), ("PHONE", ["phone"]), ("phone; sms", ["phone", "sms"]), ("sms;sms", ["sms"]),
])
def test_consent(value, expected):
    assert parse_consent(value) == expected


@pytest.mark.parametrize("value", ["", "maybe", "sms;email", ";"])
def test_consent_not_understood(value):
    assert message(parse_consent, value) == (
        f"consent {value.strip()!r} is not understood: use yes, no, sms, phone or sms;phone")


# -- code lists, sex, numbers -------------------------------------------------------------------

def test_vulnerability_list():
    allowed = codes.VULNERABILITIES
    assert parse_code_list("medical; Family with children", allowed, "vulnerabilities") == [
        "family_with_children", "medical"]
    assert parse_code_list("trafficking-victim;;OTHER;other", allowed, "vulnerabilities") == ["other", "trafficking_victim"]
    assert parse_code_list("", allowed, "vulnerabilities") == []
    assert parse_code_list(" ; ", allowed, "vulnerabilities") == []
    assert message(parse_code_list, "medical;pregnant", allowed, "vulnerabilities") == (
        "column vulnerabilities: unknown value 'pregnant': use " + ", ".join(allowed))


def test_single_code():
    allowed = codes.SUPPORT_PACKAGES
    assert parse_code("Reintegration vulnerable", allowed, "support") == "reintegration_vulnerable"
    assert parse_code("", allowed, "support") is None
    assert message(parse_code, "medical;return_only", allowed, "support") == (
        "column support: give only one value")
    assert message(parse_code, "cash", allowed, "support").startswith("column support: unknown value 'cash'")


@pytest.mark.parametrize("value, expected", [("f", "f"), ("M", "m"), ("Female", "f"), ("man", "m"), ("V", "f"),
                                             ("other", "x"), ("", None)])
def test_sex(value, expected):
    assert parse_sex(value) == expected


def test_sex_not_understood():
    assert message(parse_sex, "q") == "sex 'q' is not understood: use f, m or x"


def test_whole_numbers():
    assert parse_int(" 1985 ", "birth_year", 1900, 2026) == 1985
    assert parse_int("", "birth_year", 1900, 2026) is None
    assert parse_int("0", "children", 0, 50) == 0
    assert message(parse_int, "1985.0", "birth_year", 1900, 2026) == "column birth_year: '1985.0' is not a whole number"
    assert message(parse_int, "-1", "children", 0, 50) == "column children: '-1' is not a whole number"
    assert message(parse_int, "51", "children", 0, 50) == "column children: 51 is out of range (0 to 50)"
    assert message(parse_int, "1899", "birth_year", 1900, 2026) == "column birth_year: 1899 is out of range (1900 to 2026)"
