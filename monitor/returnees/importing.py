"""Importing the returnees who left, from the CSV the return desk keeps.

The contract (README, "CSV contract"): required columns
`code,destination_country,partner,return_date,language,channel,phone,consent`; optional
`local_partner,sex,birth_year,adults,children,vulnerabilities,support,name`. Re-importing a code
updates that case. An empty optional cell leaves what is stored alone, and an import never undoes
a consent withdrawal or a do-not-contact made in the platform.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from monitor import codes, formatting
from monitor.csvimport import ImportReport, RowError, column_problems, lookup, open_table, run_import, table_rows
from monitor.extensions import db
from monitor.models import Organisation, Returnee, User
from monitor.returnees import operations
from monitor.returnees.parsing import (
    InvalidValue, parse_case_code, parse_channel, parse_code, parse_code_list, parse_consent,
    parse_country, parse_int, parse_language, parse_phone, parse_return_date, parse_sex,
)

REQUIRED_COLUMNS = ("code", "destination_country", "partner", "return_date", "language", "channel", "phone", "consent")
OPTIONAL_COLUMNS = ("local_partner", "sex", "birth_year", "adults", "children", "vulnerabilities", "support", "name")


@dataclass
class _Row:
    line: int
    code: str
    values: dict
    consent: list[str]
    stored: Returnee | None  # the case this row updates, loaded once while validating


def import_returnees(data: bytes, *, dry_run: bool = False, skip_invalid: bool = False,
                     user: User | None = None, actor: str | None = None, filename: str = "",
                     today: date | None = None) -> ImportReport:
    """Validate every row, then write the valid ones unless that is not wanted (see run_import)."""
    today = today or date.today()
    return run_import(data, lambda data, report: _read_rows(data, report, today),
                      lambda rows, report: _write(rows, report, user, actor), action="returnee.import",
                      dry_run=dry_run, skip_invalid=skip_invalid, user=user, actor=actor, filename=filename)


def _read_rows(data: bytes, report: ImportReport, today: date) -> list[_Row]:
    header, reader = open_table(data)
    problems = column_problems(header, REQUIRED_COLUMNS, REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    if problems:
        raise InvalidValue("; ".join(problems))

    organisations = {o.code.lower(): o for o in db.session.scalars(select(Organisation))}
    raw_rows = []
    seen: dict[str, int] = {}
    for line, raw in table_rows(reader, header, report):
        code = raw["code"].strip()
        if code in seen:
            report.errors.append(RowError(line, _("the code is already on line %(line)s", line=seen[code]), code))
            continue
        if code:
            seen[code] = line
        raw_rows.append((line, raw))

    if report.rows == 0:
        raise InvalidValue(_("the file has a header but no rows"))
    existing = lookup(Returnee.code, [raw["code"].strip() for _line, raw in raw_rows])
    valid = []
    for line, raw in raw_rows:
        row, problems = _validate(line, raw, organisations, existing, today)
        if problems:
            code = raw["code"].strip() or None
            report.errors.extend(RowError(line, p, code) for p in problems)
        else:
            valid.append(row)
    report.errors.sort(key=lambda e: e.line)
    return valid


def _validate(line, raw, organisations, existing, today) -> tuple[_Row | None, list[str]]:
    problems: list[str] = []
    values: dict = {}

    def take(name, parse, *args):
        try:
            return parse(raw.get(name, ""), *args)
        except InvalidValue as problem:
            problems.append(str(problem))
            return None

    code = take("code", parse_case_code)
    country = take("destination_country", parse_country)
    values["destination_country"] = country
    values["return_date"] = take("return_date", parse_return_date, today)
    values["language"] = take("language", parse_language)
    values["preferred_channel"] = channel = take("channel", parse_channel)
    consent = take("consent", parse_consent)

    partner_code = raw["partner"].strip().lower()
    partner = organisations.get(partner_code)
    if not partner_code:
        problems.append(_("the partner is empty"))
    elif partner is None or not partner.is_reintegration_partner or not partner.active:
        choices = ", ".join(sorted(o.code for o in organisations.values() if o.is_reintegration_partner and o.active))
        value = repr(raw["partner"].strip()[:40])
        if choices:
            problems.append(_("unknown partner %(value)s: use one of %(choices)s", value=value, choices=choices))
        else:
            problems.append(_("unknown partner %(value)s: no reintegration partner is active; an administrator "
                              "must reactivate Caritas or IOM under Organisations before importing", value=value))
    else:
        values["partner_id"] = partner.id

    stored = existing.get(raw["code"].strip())
    if stored is not None and stored.erased_at is not None:
        # An erased identity never comes back, whatever the case file says.
        return None, [_("case %(code)s was erased on %(date)s: the import does not bring its identity back",
                        code=stored.code, date=formatting.day(stored.erased_at))]
    local_code = raw.get("local_partner", "").strip().lower()
    if not local_code and stored is not None and stored.local_partner is not None and partner is not None \
            and "partner_id" in values and stored.local_partner.parent_id != partner.id:
        # An empty cell keeps the stored local partner, which must still work with the partner.
        problems.append(_("the case's local partner %(local)s does not work with %(partner)s: give its local partner",
                          local=stored.local_partner.code, partner=partner.code))
    if local_code:
        local = organisations.get(local_code)
        if local is None or local.kind != "local" or not local.active:
            problems.append(_("unknown local partner %(value)s", value=repr(raw["local_partner"].strip()[:40])))
        elif partner is not None and local.parent_id != partner.id:
            problems.append(_("local partner %(local)s does not work with %(partner)s", local=local.code, partner=partner.code))
        else:
            values["local_partner_id"] = local.id

    if country:
        phone = take("phone", parse_phone, country)
        if phone:
            values["phone"] = phone
    for name, parse, args, target in (
        ("sex", parse_sex, (), "sex"),
        ("birth_year", parse_int, ("birth_year", 1900, today.year), "birth_year"),
        ("adults", parse_int, ("adults", 0, 50), "adults"),
        ("children", parse_int, ("children", 0, 50), "children"),
        ("support", parse_code, (codes.SUPPORT_PACKAGES, "support"), "support_package"),
    ):
        value = take(name, parse, *args)
        if value is not None:
            values[target] = value
    vulnerabilities = take("vulnerabilities", parse_code_list, codes.VULNERABILITIES, "vulnerabilities")
    if vulnerabilities:
        values["vulnerabilities"] = vulnerabilities
    name = raw.get("name", "").strip()
    if name:
        values["name"] = name[:200]

    if channel in ("sms", "phone") and not raw["phone"].strip() and not (stored and stored.phone):
        problems.append(_("channel %(channel)s needs a phone number", channel=channel))
    if problems:
        return None, problems
    return _Row(line, code, values, consent, stored), []


def _write(rows: list[_Row], report: ImportReport, user: User | None, actor: str | None) -> None:
    for row in rows:
        returnee = row.stored
        if returnee is None:
            returnee = Returnee(code=row.code)
            operations.apply_case_fields(returnee, row.values)
            operations.give_consent(returnee, row.consent, "import", user=user)
            db.session.add(returnee)
            report.created += 1
            continue
        changed = operations.apply_case_fields(returnee, row.values)
        if _update_consent(returnee, row, report, user, actor):
            changed.append("consent")
        if changed:
            report.updated += 1
        else:
            report.unchanged += 1


def _update_consent(returnee: Returnee, row: _Row, report: ImportReport, user, actor) -> bool:
    # A STOP or a withdrawal recorded in the platform stands: the import never gives consent back.
    for since, message in ((returnee.opted_out_at, _l("the returnee replied STOP on %(date)s; the import does not "
                                                       "give consent again")),
                           (returnee.consent_withdrawn_at, _l("consent was withdrawn on %(date)s; the import does not "
                                                              "give it again"))):
        if since is not None:
            if row.consent:
                report.warnings.append(RowError(row.line, str(message) % {"date": formatting.day(since)}, row.code))
            return False
    if sorted(row.consent) == sorted(returnee.consent_channels):
        return False
    if not row.consent and returnee.consent_given:
        return operations.withdraw_consent(returnee, "import", user=user, actor=actor)
    operations.give_consent(returnee, row.consent, "import", user=user)
    return True
