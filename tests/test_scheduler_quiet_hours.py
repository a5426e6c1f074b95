"""Quiet hours in the returnee's local time, across time zones, with and without summer time."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from scheduler.quiet_hours import country_zone, is_quiet, next_allowed

UTC = timezone.utc
START, END = time(9, 0), time(20, 0)
DAY = (2026, 10, 5)


def utc(hour: int, minute: int = 0, day: int = 5) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize("country, zone", [
    ("GE", "Asia/Tbilisi"), ("IQ", "Asia/Baghdad"), ("AF", "Asia/Kabul"), ("SN", "Africa/Dakar"),
    ("RU", "Europe/Moscow"), ("QQ", "UTC"),  # QQ: no such country
])
def test_country_zone(country, zone):
    assert country_zone(country) == ZoneInfo(zone)


# (country, UTC instant of 09:00 local, UTC instant of 20:00 local)
ZONES = [
    ("GE", utc(5, 0), utc(16, 0)),  # Tbilisi, UTC+4
    ("IQ", utc(6, 0), utc(17, 0)),  # Baghdad, UTC+3
    ("AF", utc(4, 30), utc(15, 30)),  # Kabul, UTC+4:30
    ("SN", utc(9, 0), utc(20, 0)),  # Dakar, UTC+0
    ("RU", utc(6, 0), utc(17, 0)),  # Moscow, UTC+3
]


@pytest.mark.parametrize("country, opens, closes", ZONES)
def test_quiet_around_nine_and_eight_local(country, opens, closes):
    minute = timedelta(minutes=1)
    assert is_quiet(opens - minute, country, START, END)  # 08:59
    assert not is_quiet(opens, country, START, END)  # 09:00
    assert not is_quiet(opens + minute, country, START, END)
    assert not is_quiet(closes - minute, country, START, END)  # 19:59
    assert is_quiet(closes, country, START, END)  # 20:00
    assert is_quiet(closes + timedelta(hours=5), country, START, END)  # 01:00 the next night


def test_the_same_instant_is_quiet_in_one_country_and_not_in_another():
    at = utc(4, 45)  # 08:45 in Tbilisi, 07:45 in Baghdad, 09:15 in Kabul, 04:45 in Dakar
    assert {c: is_quiet(at, c, START, END) for c in ("GE", "IQ", "AF", "SN")} == {
        "GE": True, "IQ": True, "AF": False, "SN": True}
    at = utc(15, 45)  # 19:45 in Tbilisi, 18:45 in Baghdad, 20:15 in Kabul, 15:45 in Dakar
    assert {c: is_quiet(at, c, START, END) for c in ("GE", "IQ", "AF", "SN")} == {
        "GE": False, "IQ": False, "AF": True, "SN": False}


def test_a_multi_zone_country_uses_its_capital():
    # Babel lists Europe/Astrakhan (UTC+4) first for Russia; Moscow (UTC+3) is the one used.
    at = utc(5, 30)  # 08:30 in Moscow, 09:30 in Astrakhan
    assert is_quiet(at, "RU", START, END)
    assert next_allowed(at, "RU", START, END) == utc(6, 0)


@pytest.mark.parametrize("country, opens, closes", ZONES)
def test_next_allowed(country, opens, closes):
    # Before 09:00 local: 09:00 the same local day.
    assert next_allowed(opens - timedelta(hours=2), country, START, END) == opens
    # Inside the window: the moment itself.
    assert next_allowed(opens, country, START, END) == opens
    assert next_allowed(closes - timedelta(seconds=1), country, START, END) == closes - timedelta(seconds=1)
    # From 20:00 local: 09:00 the next local day.
    assert next_allowed(closes, country, START, END) == opens + timedelta(days=1)
    assert next_allowed(closes + timedelta(hours=2), country, START, END) == opens + timedelta(days=1)


def test_next_allowed_counts_days_in_local_time():
    # 21:00 UTC on the 5th is already 01:00 on the 6th in Tbilisi: 09:00 that (local) day, not the 7th.
    assert next_allowed(utc(21, 0), "GE", START, END) == utc(5, 0, day=6)
    # 23:00 UTC on the 5th is 03:30 on the 6th in Kabul.
    assert next_allowed(utc(23, 0), "AF", START, END) == utc(4, 30, day=6)
    # 21:00 UTC in Dakar is 21:00 local: the next day.
    assert next_allowed(utc(21, 0), "SN", START, END) == utc(9, 0, day=6)


def test_next_allowed_answers_in_utc():
    result = next_allowed(utc(1, 0), "AF", START, END)
    assert result.utcoffset() == timedelta(0)
    assert result == utc(4, 30) and (result.hour, result.minute) == (4, 30)


def test_another_sending_window():
    assert is_quiet(utc(5, 30), "GE", time(10), time(18))  # 09:30 in Tbilisi
    assert next_allowed(utc(5, 30), "GE", time(10), time(18)) == utc(6, 0)
    assert next_allowed(utc(14, 0), "GE", time(10), time(18)) == utc(6, 0, day=6)  # 18:00 local


def test_summer_time_moves_the_window_in_ukraine():
    """Kyiv is UTC+3 in summer and UTC+2 in winter (the clocks went back on 25 October 2026):
    09:00 local is 06:00 UTC before, 07:00 UTC after, and the night in between spans the change."""
    assert country_zone("UA") == ZoneInfo("Europe/Kyiv")
    summer, winter = datetime(2026, 10, 20, 6, 0, tzinfo=UTC), datetime(2026, 10, 27, 7, 0, tzinfo=UTC)
    minute = timedelta(minutes=1)
    assert is_quiet(summer - minute, "UA", START, END) and not is_quiet(summer, "UA", START, END)
    assert is_quiet(winter - minute, "UA", START, END) and not is_quiet(winter, "UA", START, END)
    assert is_quiet(datetime(2026, 10, 27, 6, 30, tzinfo=UTC), "UA", START, END)  # 08:30 local in winter
    # 20:00 on the Saturday before the change is 17:00 UTC; the next opening is Sunday 09:00 local,
    # already in winter time: 07:00 UTC, 15 hours later rather than 14.
    saturday_evening = datetime(2026, 10, 24, 17, 0, tzinfo=UTC)
    assert is_quiet(saturday_evening, "UA", START, END)
    assert next_allowed(saturday_evening, "UA", START, END) == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
