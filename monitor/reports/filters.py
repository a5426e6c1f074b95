"""What a report covers: one filter object for every figure, the command line's and the page's.

`ReportFilter` is plain data; `where_clauses()` turns it into SQL conditions on `follow_ups` (F)
and `returnees` (R), the two tables every figure starts from. An organisation limits the figures
to what that organisation's staff may see (`monitor.access.scope_to_user`'s rule).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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
        if user.role == "partner":
            if user.organisation is None:
                raise FilterError("partner staff without an organisation see no figures")
            values["organisation"] = user.organisation.code
        return cls(**values)

    def check(self) -> None:
        """Refuse a filter that names something unknown (a mistyped wave gives a clear error,
        not an empty table); checked once per filter."""
        if self.__dict__.get("_checked"):
            return
        from monitor import codes
        from monitor.extensions import db
        from monitor.followups.waves import all_waves

        problems = []
        known_waves = {wave.code for wave in all_waves()}
        codes_known = set(db.session.scalars(select(Organisation.code)))
        for what, values, known in (("wave", self.waves, known_waves), ("partner", self.partners, codes_known),
                                    ("local partner", self.local_partners, codes_known),
                                    ("channel", self.channels, set(codes.CONSENT_CHANNELS)),
                                    ("sex", self.sexes, set(codes.SEXES)),
                                    ("vulnerability", self.vulnerabilities, set(codes.VULNERABILITIES))):
            unknown = [value for value in values if value not in known]
            if unknown:
                problems.append(f"unknown {what} {', '.join(map(repr, unknown))} (known: {', '.join(sorted(known))})")
        bad_countries = [c for c in self.countries if len(c) != 2 or not c.isalpha() or not c.isupper()]
        if bad_countries:
            problems.append(f"countries are ISO codes of two capital letters, not {', '.join(map(repr, bad_countries))}")
        if self.returned_from and self.returned_to and self.returned_from > self.returned_to:
            problems.append("the return period ends before it starts")
        if problems:
            raise FilterError("; ".join(problems))
        object.__setattr__(self, "_checked", True)

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
