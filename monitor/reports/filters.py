"""What a report covers: one filter object for every figure, the command line's and the page's.

`ReportFilter` is plain data; `where_clauses()` turns it into SQL conditions on `follow_ups` (F)
and `returnees` (R), the two tables every figure starts from. An organisation limits the figures
to what that organisation's staff may see (`monitor.access.scope_to_user`'s rule).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pycountry
from sqlalchemy import Integer, case, cast, exists, extract, select

from monitor.models import FollowUp, Organisation, Returnee, ReturneeVulnerability

_month = cast(extract("month", Returnee.return_date), Integer)
# The return cohort's quarter as a number, 20263 for 2026-Q3 (the same SQL on SQLite and PostgreSQL).
QUARTER = cast(extract("year", Returnee.return_date), Integer) * 10 + case(
    (_month <= 3, 1), (_month <= 6, 2), (_month <= 9, 3), else_=4)

# The columns a figure can be broken down by (`--by`), as SQL expressions.
DIMENSIONS = {
    "wave": FollowUp.wave,
    "country": Returnee.destination_country,
    "partner": Returnee.partner_id,
    "local_partner": Returnee.local_partner_id,
    "channel": FollowUp.channel,
    "sex": Returnee.sex,
    "quarter": QUARTER,  # of return
}


# The query parameters (the page's, the API's) and the filter's fields they fill.
PARAMETERS = {"wave": "waves", "country": "countries", "partner": "partners", "local_partner": "local_partners",
              "channel": "channels", "sex": "sexes", "vulnerability": "vulnerabilities"}
FIELD_NAMES = {field: name.replace("_", " ") for name, field in PARAMETERS.items()}


class FilterError(ValueError):
    """A filter that names something unknown (an organisation code, a dimension)."""


@dataclass(frozen=True)
class ReportFilter:
    waves: tuple[str, ...] = ()
    returned_from: date | None = None  # return date, inclusive
    returned_to: date | None = None
    countries: tuple[str, ...] = ()  # ISO alpha-2
    partners: tuple[str, ...] = ()  # reintegration partner codes
    local_partners: tuple[str, ...] = ()  # local partner codes
    channels: tuple[str, ...] = ()  # the follow-up's assigned channel: sms, phone
    sexes: tuple[str, ...] = ()
    vulnerabilities: tuple[str, ...] = ()  # any of these categories
    organisation: str | None = None  # scope: what this organisation's staff may see

    def __post_init__(self):
        # Lists from a form or a query string are welcome: stored as tuples, the filter stays hashable.
        for name in ("waves", "countries", "partners", "local_partners", "channels", "sexes", "vulnerabilities"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = (value,)
            object.__setattr__(self, name, tuple(v for v in value if v))

    @classmethod
    def for_user(cls, user, **values) -> ReportFilter:
        """The filter a staff member's page uses: partner staff see their organisation's cases."""
        if user.partner_scoped:
            if user.organisation is None:
                raise FilterError("partner staff without an organisation see no figures")
            values["organisation"] = user.organisation.code
        return cls(**values)

    def unknown_values(self) -> dict[str, list[str]]:
        """Per field, the values that name nothing: a mistyped wave, a partner code that is not a
        reintegration partner's, a country that is not an ISO 3166-1 alpha-2 code... The API
        reports them by parameter; `check` refuses them. Looked up once per filter."""
        if "_unknown" not in self.__dict__:
            from monitor import codes
            from monitor.extensions import db
            from monitor.followups.waves import all_waves

            organisations = db.session.execute(select(Organisation.code, Organisation.kind)).all()
            known = {"waves": {wave.code for wave in all_waves()},
                     "partners": {code for code, kind in organisations if kind == "reintegration"},
                     "local_partners": {code for code, kind in organisations if kind == "local"},
                     "channels": set(codes.CONSENT_CHANNELS), "sexes": set(codes.SEXES),
                     "vulnerabilities": set(codes.VULNERABILITIES)}
            found = {name: [value for value in getattr(self, name) if value not in allowed]
                     for name, allowed in known.items()}
            found["countries"] = [c for c in self.countries if pycountry.countries.get(alpha_2=c) is None]
            object.__setattr__(self, "_unknown", ({name: values for name, values in found.items() if values}, known))
        return self.__dict__["_unknown"][0]

    def check(self) -> None:
        """Refuse a filter that names something unknown (a mistyped wave gives a clear error,
        not an empty table), or a return period that ends before it starts."""
        problems = []
        for name, values in self.unknown_values().items():
            if name == "countries":
                problems.append(f"countries are ISO codes of two capital letters, not {', '.join(map(repr, values))}")
            else:
                known = self.__dict__["_unknown"][1][name]
                problems.append(f"unknown {FIELD_NAMES[name]} {', '.join(map(repr, values))} "
                                f"(known: {', '.join(sorted(known))})")
        if self.returned_from and self.returned_to and self.returned_from > self.returned_to:
            problems.append("the return period ends before it starts")
        if problems:
            raise FilterError("; ".join(problems))

    def where_clauses(self) -> list:
        self.check()
        clauses = []
        if self.waves:
            clauses.append(FollowUp.wave.in_(self.waves))
        if self.returned_from:
            clauses.append(Returnee.return_date >= self.returned_from)
        if self.returned_to:
            clauses.append(Returnee.return_date <= self.returned_to)
        if self.countries:
            clauses.append(Returnee.destination_country.in_(self.countries))
        if self.partners:
            clauses.append(Returnee.partner_id.in_(_ids(self.partners)))
        if self.local_partners:
            clauses.append(Returnee.local_partner_id.in_(_ids(self.local_partners)))
        if self.channels:
            clauses.append(FollowUp.channel.in_(self.channels))
        if self.sexes:
            clauses.append(Returnee.sex.in_(self.sexes))
        if self.vulnerabilities:
            clauses.append(exists().where(ReturneeVulnerability.returnee_id == Returnee.id,
                                          ReturneeVulnerability.category.in_(self.vulnerabilities)))
        if self.organisation:
            clauses.append(scope_clause(self.organisation))
        return clauses


def _ids(codes):
    return select(Organisation.id).where(Organisation.code.in_(codes)).scalar_subquery()


def scope_clause(code: str):
    """What the staff of organisation `code` may see (the rule of monitor.access.scope_to_user)."""
    from monitor.extensions import db

    org = db.session.scalar(select(Organisation).where(Organisation.code == code))
    if org is None:
        raise FilterError(f"there is no organisation {code!r}")
    if org.is_reintegration_partner:
        return Returnee.partner_id == org.id
    return Returnee.local_partner_id == org.id


def check_by(by) -> tuple[str, ...]:
    unknown = [name for name in by if name not in DIMENSIONS]
    if unknown:
        raise FilterError(f"cannot break down by {', '.join(unknown)} (known: {', '.join(DIMENSIONS)})")
    return tuple(by)
