"""Turning what people type or import into the stored codes, with a clear message when it
cannot be done. Shared by the CSV import and the edit form."""
from __future__ import annotations

import re
from datetime import date

import phonenumbers
import pycountry
from flask_babel import gettext as _

from monitor import codes


class InvalidValue(ValueError):
    """A value that cannot be stored; str() is the message for the user."""


CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


def parse_case_code(value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidValue(_("the case code is empty"))
    if not CODE_PATTERN.match(value):
        raise InvalidValue(_("the case code %(code)s may only hold letters, digits and . _ - (at most 40)",
                             code=repr(value[:60])))
    return value


def parse_country(value: str) -> str:
    """ISO alpha-2, alpha-3 or the English name -> alpha-2."""
    value = value.strip()
    if not value:
        raise InvalidValue(_("the destination country is empty"))
    try:
        return pycountry.countries.lookup(value).alpha_2
    except LookupError:
        raise InvalidValue(_("unknown country %(country)s: use an ISO code (GE, GEO) or the English name",
                             country=repr(value[:60]))) from None


def parse_return_date(value: str, today: date | None = None) -> date:
    value = value.strip()
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise InvalidValue(_("the return date %(value)s is not written YYYY-MM-DD", value=repr(value[:30])))
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise InvalidValue(_("the return date %(value)s does not exist", value=value)) from None
    today = today or date.today()
    if parsed.year < 1990 or parsed > today.replace(year=today.year + 1, day=min(today.day, 28)):
        raise InvalidValue(_("the return date %(value)s is out of range", value=value))
    return parsed


def parse_language(value: str) -> str:
    language = codes.normalise_language(value)
    if language is None:
        raise InvalidValue(_("unknown language %(value)s: use one of %(choices)s",
                             value=repr(value.strip()[:20]), choices=", ".join(codes.RETURNEE_LANGUAGES)))
    return language


def parse_channel(value: str) -> str:
    channel = value.strip().lower()
    if channel not in codes.CHANNELS:
        raise InvalidValue(_("unknown channel %(value)s: use sms, phone or none", value=repr(value.strip()[:20])))
    return channel


def parse_phone(value: str, country: str) -> str | None:
    """A phone number in international or the destination country's national format -> E.164.
    The number itself is never repeated in the message (it is personal data)."""
    value = value.strip()
    if not value:
        return None
    try:
        number = phonenumbers.parse(value, country)
    except phonenumbers.NumberParseException:
        raise InvalidValue(_("the phone number cannot be read: use digits and spaces, country code first")) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue(_("the phone number is not a valid number (checked for %(country)s)", country=country))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_YES = {"yes", "y", "true", "1", "ja", "oui"}
_NO = {"no", "n", "false", "0", "nee", "non"}


def parse_consent(value: str) -> list[str]:
    """'yes' -> every channel, 'no' -> none, or a ';' list of channels ('sms;phone')."""
    cleaned = value.strip().lower()
    if cleaned in _YES:
        return list(codes.CONSENT_CHANNELS)
    if cleaned in _NO:
        return []
    channels = [part.strip() for part in cleaned.split(";") if part.strip()]
    if channels and all(c in codes.CONSENT_CHANNELS for c in channels):
        return sorted(set(channels))
    raise InvalidValue(_("consent %(value)s is not understood: use yes, no, sms, phone or sms;phone",
                         value=repr(value.strip()[:20])))


def parse_code_list(value: str, allowed: dict, what: str) -> list[str]:
    """`what` is the column (or field) name, a code shown as it is."""
    found = []
    for part in value.split(";"):
        code = re.sub(r"[\s-]+", "_", part.strip().lower())
        if not code:
            continue
        if code not in allowed:
            raise InvalidValue(_("column %(what)s: unknown value %(value)s: use %(choices)s",
                                 what=what, value=repr(part.strip()[:40]), choices=", ".join(allowed)))
        found.append(code)
    return sorted(set(found))


def parse_code(value: str, allowed: dict, what: str) -> str | None:
    codes_found = parse_code_list(value, allowed, what)
    if len(codes_found) > 1:
        raise InvalidValue(_("column %(what)s: give only one value", what=what))
    return codes_found[0] if codes_found else None


_SEX_WORDS = {"female": "f", "male": "m", "woman": "f", "man": "m", "other": "x", "v": "f"}


def parse_sex(value: str) -> str | None:
    cleaned = value.strip().lower()
    if not cleaned:
        return None
    cleaned = _SEX_WORDS.get(cleaned, cleaned)
    if cleaned not in codes.SEXES:
        raise InvalidValue(_("sex %(value)s is not understood: use f, m or x", value=repr(value.strip()[:20])))
    return cleaned


def parse_int(value: str, what: str, low: int, high: int) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not re.fullmatch(r"[0-9]+", value):
        raise InvalidValue(_("column %(what)s: %(value)s is not a whole number", what=what, value=repr(value[:20])))
    # A digit string longer than the bound is out of range without being read (Python refuses
    # to read one of over 4,300 digits, and the message shows at most 20).
    number = int(value) if len(value.lstrip("0")) <= len(str(high)) else None
    if number is None or not low <= number <= high:
        raise InvalidValue(_("column %(what)s: %(value)s is out of range (%(low)s to %(high)s)",
                             what=what, value=value[:20], low=low, high=high))
    return number
