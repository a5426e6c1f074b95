"""Dates, numbers and directions as the staff member's language writes them.

Every staff page formats through these (registered as Jinja filters and globals in
monitor/__init__.py): a date always has its month in words ("2 Dec 2026", "2 déc. 2026",
"2 ديسمبر 2026"), never "12/2/26", whose order a reader in another country reads the other way
round; a number has the locale's separators ("0,89" in French); Arabic pages run right to left.
"""
from __future__ import annotations

from datetime import date as _date
from datetime import datetime as _datetime
from datetime import timezone

from babel import Locale
from babel.dates import format_skeleton, format_time
from babel.lists import format_list
from babel.numbers import format_decimal, format_percent
from flask import current_app
from flask_babel import get_locale, to_user_timezone
from markupsafe import Markup

from monitor.codes import RETURNEE_LANGUAGES
from scheduler.quiet_hours import country_zone

EMPTY = "—"
_DAY = "yMMMd"  # a CLDR skeleton: year, abbreviated month name, day, in the locale's order


def _moment(value: _datetime, country: str | None = None) -> _datetime:
    """A stored moment (UTC) in the display time zone, or in the local time of `country`."""
    if country:
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(country_zone(country))
    return to_user_timezone(value)


def day(value: _date | _datetime | None) -> str:
    """A date: '2 Dec 2026' / '2 déc. 2026' / 'Dec 2, 2026'."""
    if value is None:
        return EMPTY
    if isinstance(value, _datetime):
        value = _moment(value).date()
    return format_skeleton(_DAY, value, locale=get_locale())


def moment(value: _datetime | None, country: str | None = None) -> str:
    """A date with its time: '2 déc. 2026, 14:05' / 'Dec 2, 2026, 2:05 PM'; with `country`, as
    the clock reads there (a call-back the returnee asked for, in their time)."""
    if value is None:
        return EMPTY
    locale = get_locale()
    local = _moment(value, country)
    pattern = str(locale.datetime_formats["medium"]).replace("'", "")
    return (pattern.replace("{0}", format_time(local, "short", locale=locale))
            .replace("{1}", format_skeleton(_DAY, local.date(), locale=locale)))


def clock(value: _datetime | None, country: str | None = None, utc: bool = False) -> str:
    """The time of day alone: '09:00' / '9:00 AM', in the display time zone, as the clock reads
    in `country`, or in UTC (`utc=True`)."""
    if value is None:
        return EMPTY
    if utc:
        local = (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    else:
        local = _moment(value, country)
    return format_time(local, "short", locale=get_locale())


def number(value, places: int | None = None) -> str:
    """A count or a measure: '1 234' / '0,89' (with `places`, exactly that many decimals)."""
    if value is None:
        return EMPTY
    if places is None:
        return format_decimal(value, locale=get_locale())
    pattern = "#,##0." + "0" * places if places else "#,##0"
    return format_decimal(value, pattern, locale=get_locale())


def percent(value, places: int = 0) -> str:
    """A rate between 0 and 1: '89 %' in French, '89%' in English."""
    if value is None:
        return EMPTY
    pattern = "#,##0" + ("." + "0" * places if places else "") + "%"
    return format_percent(value, pattern, locale=get_locale())


def staff_languages() -> list[tuple[str, str]]:
    """(code, name in the language itself) of each staff language: 'Français', 'Русский', 'العربية'."""
    return [(code, _own_name(code)) for code in current_app.config["STAFF_LOCALES"]]


def staff_language_choices() -> list[tuple[str, str, dict]]:
    """The staff languages as select choices, each option marked with its language and direction."""
    return [(code, name, {"lang": code, "dir": "auto"}) for code, name in staff_languages()]


def _own_name(code: str) -> str:
    name = Locale.parse(code).get_display_name(code)
    return name[:1].upper() + name[1:]


def listing(items, labels: dict | None = None) -> str:
    """Names joined as the language joins them: 'SMS link and Phone call', 'A, B et C', 'A و B';
    with `labels`, codes shown by their labels ({{ r.consent_channels|listing(codes.CHANNELS) }})."""
    names = [str(labels.get(item, item) if labels is not None else item) for item in items]
    return format_list(names, locale=get_locale()) if names else EMPTY


def language_name(code: str) -> Markup:
    """A returnee language by its own name ('العربية', 'ქართული'), marked with its language and
    isolated in its own direction: Arabic inside a French sentence stays readable."""
    return Markup('<bdi lang="{}" dir="auto">{}</bdi>').format(code.replace("_", "-"),
                                                               RETURNEE_LANGUAGES.get(code, code))


def direction() -> str:
    """The staff language's writing direction, for <html dir>: 'rtl' for Arabic."""
    return "rtl" if get_locale().character_order == "right-to-left" else "ltr"


# {{ x|date }}, {{ x|datetime }}, {{ x|clock(country) }}, {{ x|clock(utc=True) }}, {{ x|number }},
# {{ x|number(2) }}, {{ x|percent }}, {{ xs|listing }}
FILTERS = {"date": day, "datetime": moment, "clock": clock, "number": number, "percent": percent, "listing": listing}
