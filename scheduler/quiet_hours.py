"""Quiet hours in the returnee's local time: never send at night where they live."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.core import get_global

# Countries spanning several time zones: the capital's (most returnees live near it).
_CAPITAL_ZONES = {
    "RU": "Europe/Moscow", "UA": "Europe/Kyiv", "CD": "Africa/Kinshasa", "BR": "America/Sao_Paulo",
    "KZ": "Asia/Almaty", "MN": "Asia/Ulaanbaatar", "US": "America/New_York", "CA": "America/Toronto",
    "MX": "America/Mexico_City", "ID": "Asia/Jakarta", "AU": "Australia/Sydney", "CL": "America/Santiago",
    "EC": "America/Guayaquil", "ES": "Europe/Madrid", "PT": "Europe/Lisbon", "AR": "America/Argentina/Buenos_Aires",
    "CN": "Asia/Shanghai", "KI": "Pacific/Tarawa", "PG": "Pacific/Port_Moresby", "FM": "Pacific/Pohnpei",
    "PS": "Asia/Gaza", "CY": "Asia/Nicosia", "DE": "Europe/Berlin", "MY": "Asia/Kuala_Lumpur",
    "NZ": "Pacific/Auckland", "UZ": "Asia/Tashkent", "EG": "Africa/Cairo",
}


def country_zone(country: str) -> ZoneInfo:
    """The time zone of a destination country (ISO alpha-2); UTC for an unknown one."""
    name = _CAPITAL_ZONES.get(country)
    if name is None:
        zones = get_global("territory_zones").get(country) or ["UTC"]
        name = zones[0]
    return ZoneInfo(name)


def is_quiet(moment: datetime, country: str, start: time, end: time) -> bool:
    """True when `moment` falls outside the sending window [start, end) in the country's local
    time. `start` < `end` (a daytime window such as 09:00 to 20:00)."""
    local = moment.astimezone(country_zone(country)).time()
    return not (start <= local < end)


def next_allowed(moment: datetime, country: str, start: time, end: time) -> datetime:
    """The first moment at or after `moment` inside the sending window, in UTC."""
    zone = country_zone(country)
    local = moment.astimezone(zone)
    if start <= local.time() < end:
        return moment
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    opening = datetime.combine(day, start, tzinfo=zone)
    return opening.astimezone(moment.tzinfo)
