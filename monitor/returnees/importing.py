"""Importing the returnees who left, from the CSV the return desk keeps.

The contract (README, "CSV contract"): required columns
`code,destination_country,partner,return_date,language,channel,phone,consent`; optional
`local_partner,sex,birth_year,adults,children,vulnerabilities,support,name`. Re-importing a code
updates that case. An empty optional cell leaves what is stored alone, and an import never undoes
a consent withdrawal or a do-not-contact made in the platform.
"""
from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from monitor import codes, formatting
from monitor.csvimport import (
    ImportReport, RowError, column_problems, lookup, open_table, run_batched_import, table_rows,
)
from monitor.extensions import db
from monitor.models import Organisation, Returnee, User
from monitor.returnees import operations
from monitor.returnees.parsing import (
    InvalidValue, parse_case_code, parse_channel, parse_code, parse_code_list, parse_consent,
    parse_country, parse_int, parse_language, parse_phone, parse_return_date, parse_sex,
)

REQUIRED_COLUMNS = ("code", "destination_country", "partner", "return_date", "language", "channel", "phone", "consent")
OPTIONAL_COLUMNS = ("local_partner", "sex", "birth_year", "adults", "children", "vulnerabilities", "support", "name")


# Parsers of cells whose values repeat from row to row (a code, a phone number does not).
_REPEATING = frozenset({parse_country, parse_return_date, parse_language, parse_channel, parse_consent, parse_sex,
                        parse_int})


@dataclass
class _Row:
    line: int
    code: str
    values: dict
    consent: list[str]
    stored: Returnee | None  # the case this row updates, loaded once while validating


BATCH_ROWS = 1000  # rows validated, looked up and written together: what bounds the memory


def import_returnees(data: bytes, *, dry_run: bool = False, skip_invalid: bool = False,
                     user: User | None = None, actor: str | None = None, filename: str = "",
                     today: date | None = None, progress=None, before_commit=None,
                     partner: Organisation | None = None) -> ImportReport:
    """Validate the rows a batch at a time and write the valid ones as they come, in one
    transaction, unless that is not wanted (see run_batched_import). `progress(rows_read)` after
    each batch; `before_commit(report)` just before the commit. `partner`: a coordinator's import,
    for that reintegration partner only: a row naming another partner (or its local partner), or
    the code of another partner's case, is an error."""
    today = today or date.today()
    user_id = user.id if user else None
    return run_batched_import(data, lambda data, report: _read_batches(data, report, today, partner),
                              lambda rows, report: _write(rows, report, user, user_id, actor),
                              action="returnee.import", dry_run=dry_run, skip_invalid=skip_invalid, user=user,
                              actor=actor, filename=filename, progress=progress, before_commit=before_commit)


def _read_batches(data: bytes, report: ImportReport, today: date,
                  scope: Organisation | None = None) -> Iterator[list[_Row]]:
    header, reader = open_table(data)
    problems = column_problems(header, REQUIRED_COLUMNS, REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    if problems:
        raise InvalidValue("; ".join(problems))

    organisations = {o.code.lower(): o for o in db.session.scalars(select(Organisation))}
    seen: dict[str, int] = {}  # code -> line: the only thing kept for the whole file
    pending = []
    for line, raw in table_rows(reader, header, report):
        code = raw["code"].strip()
        if code in seen:
            report.errors.append(RowError(line, _("the code is already on line %(line)s", line=seen[code]), code))
            continue
        if code:
            seen[code] = line
        pending.append((line, raw))
        if len(pending) == BATCH_ROWS:
            yield _validate_batch(pending, organisations, report, today, scope)
            pending = []
    if report.rows == 0:
        raise InvalidValue(_("the file has a header but no rows"))
    if pending:
        yield _validate_batch(pending, organisations, report, today, scope)


def _validate_batch(raw_rows, organisations, report: ImportReport, today: date, scope=None) -> list[_Row]:
    existing = lookup(Returnee.code, [raw["code"].strip() for _line, raw in raw_rows])
    valid = []
    for line, raw in raw_rows:
        row, problems = _validate(line, raw, organisations, existing, today, scope)
        if problems:
            code = raw["code"].strip() or None
            report.errors.extend(RowError(line, p, code) for p in problems)
        else:
            valid.append(row)
    return valid


@functools.lru_cache(maxsize=4096)
def _parsed(parse, value: str, *args):
    """What a parser makes of a value: a country, a date, a language... repeat over the rows of a
    file, so each is read once (only values that parse are kept; a problem is raised each time,
    in the language of the moment)."""
    found = parse(value, *args)
    return tuple(found) if isinstance(found, list) else found


def _validate(line, raw, organisations, existing, today, scope=None) -> tuple[_Row | None, list[str]]:
    problems: list[str] = []
    values: dict = {}

    def take(name, parse, *args):
        try:
            found = (_parsed(parse, raw.get(name, ""), *args) if parse in _REPEATING
                     else parse(raw.get(name, ""), *args))
        except InvalidValue as problem:
            problems.append(str(problem))
            return None
        return list(found) if isinstance(found, tuple) else found

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
    if scope is not None and stored is not None and stored.partner_id != scope.id:
        # Said without naming the other partner, nor anything of the case: not the importer's to see.
        return None, [_("the code is taken by a case of another partner")]
    if stored is not None and stored.erased_at is not None:
        # An erased identity never comes back, whatever the case file says.
        return None, [_("case %(code)s was erased on %(date)s: the import does not bring its identity back",
                        code=stored.code, date=formatting.day(stored.erased_at))]
    if scope is not None and "partner_id" in values and values["partner_id"] != scope.id:
        problems.append(_("the partner %(value)s is not yours: you import for %(own)s only",
                          value=partner.code, own=scope.code))
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


def _write(rows: list[_Row], report: ImportReport, user: User | None, user_id: int | None,
           actor: str | None) -> None:
    new = [row for row in rows if row.stored is None]
    operations.create_cases([(row.code, row.values, row.consent) for row in new], "import", user_id=user_id)
    report.created += len(new)
    for row in rows:
        returnee = row.stored
        if returnee is None:
            continue
        changed = operations.apply_case_fields(returnee, row.values)
        if _update_consent(returnee, row, report, user, actor):
            changed.append("consent")
        if changed:
            report.updated += 1
        else:
            report.unchanged += 1
    db.session.flush()  # the batch's changes leave the session's memory for the transaction


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
