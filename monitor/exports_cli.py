"""`monitor export codebook|xlsform|worklist|responses`: the questionnaire definition as files for
partners and analysts, the work list for KoboCollect or ODK Collect, and the pseudonymous
responses for R, Stata and SPSS.

    monitor export codebook -o codebook.csv [--version N]
    monitor export xlsform -o standard.xlsx [--version N]
    monitor export worklist --organisation CODE -o worklist.zip [--user EMAIL]
    monitor export responses -o FILE.csv|.xlsx|.sav|.dta [--wave W ...] [--language L] [--with-text]
                             [--organisation CODE] [--user EMAIL]

Without --version: the current standard questionnaire (`surveys.registry.current()`). The file
layouts are described in surveys/exports.py, monitor/worklist/offline.py and
monitor/exports/. `worklist` and `responses` need the database (and an app context).
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import click
from flask.cli import with_appcontext

from surveys import registry
from surveys.definition import Questionnaire
from surveys.exports import ExportError, write_codebook, write_xlsform

QUESTIONNAIRE = "standard"


@click.group("export")
def export_command():
    """Export the questionnaire definition (codebook CSV, XLSForm for KoboCollect / ODK Collect), the
    offline work list, and the pseudonymous responses."""


def _questionnaire(version: int | None) -> Questionnaire:
    try:
        if version is None:
            return registry.current(QUESTIONNAIRE)
        return registry.get(QUESTIONNAIRE, version)
    except KeyError:
        known = sorted(v for (code, v) in registry.all_versions() if code == QUESTIONNAIRE)
        raise click.ClickException(f"there is no {QUESTIONNAIRE} questionnaire version {version} "
                                   f"(known: {', '.join(map(str, known)) or 'none'})") from None
    except ValueError as problem:  # a broken definition file (DefinitionError is a ValueError)
        raise click.ClickException(f"the questionnaire definitions cannot be loaded: {problem}") from None


def _write(path: str, data: bytes) -> None:
    """Write the whole file at once, so a failed export leaves no half-written file."""
    if path == "-":
        stdout = click.get_binary_stream("stdout")
        stdout.write(data)
        stdout.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise click.ClickException(f"cannot write {path}: it is a directory")
    try:
        with open(target, "wb") as handle:
            handle.write(data)
    except OSError as problem:
        raise click.ClickException(f"cannot write {path}: {problem.strerror or problem}") from None


def _describe(questionnaire: Questionnaire) -> str:
    return f"{questionnaire.code} version {questionnaire.version}"


_output = click.option("-o", "--output", "output", required=True, metavar="FILE",
                       help="The file to write ('-' for standard output).")
_version = click.option("--version", "version", type=click.IntRange(min=1), default=None,
                        help="Questionnaire version (default: the current one).")


@export_command.command("codebook")
@_output
@_version
def codebook_command(output, version):
    """Write the codebook: one CSV row per item and per answer option, labels in every language."""
    questionnaire = _questionnaire(version)
    buffer = io.BytesIO()
    write_codebook(questionnaire, buffer)
    _write(output, buffer.getvalue())
    if output != "-":
        click.echo(f"codebook of {_describe(questionnaire)} written to {output}", err=True)


@export_command.command("xlsform")
@_output
@_version
def xlsform_command(output, version):
    """Write an XLSForm (.xlsx) to run the questionnaire offline in KoboCollect or ODK Collect."""
    if output == "-":
        raise click.ClickException("an XLSForm is a workbook: give a file name ending in .xlsx")
    if os.path.splitext(output)[1].lower() != ".xlsx":
        raise click.ClickException(f"{output}: an XLSForm file name must end in .xlsx "
                                   "(KoboToolbox and ODK Central read it by its extension)")
    questionnaire = _questionnaire(version)
    buffer = io.BytesIO()
    try:
        write_xlsform(questionnaire, buffer)
    except ExportError as problem:
        raise click.ClickException(f"{_describe(questionnaire)} cannot be written as an XLSForm: {problem}") from None
    _write(output, buffer.getvalue())
    click.echo(f"XLSForm of {_describe(questionnaire)} written to {output}", err=True)


@export_command.command("worklist")
@click.option("--organisation", "organisation_code", required=True, metavar="CODE",
              help="The organisation whose open phone tasks go into the case list.")
@_output
@click.option("--user", "email", default=None, metavar="EMAIL",
              help="Export as this account: its organisation only, and names and phone numbers only if "
                   "it may see them. Without it: any organisation, no names or phone numbers.")
@with_appcontext
def worklist_command(organisation_code, output, email):
    """Write the work list for KoboCollect / ODK Collect: a zip with worklist.xlsx and cases.csv.
    The case list holds personal data when names and phone numbers are in it: keep it safe."""
    from sqlalchemy import func, select

    from monitor.extensions import db
    from monitor.models import Organisation, User
    from monitor.worklist.offline import OutOfScope, export_worklist

    if output == "-" or os.path.splitext(output)[1].lower() != ".zip":
        raise click.ClickException(f"{output}: give a file name ending in .zip")
    organisation = db.session.scalar(select(Organisation).where(Organisation.code == organisation_code.strip()))
    if organisation is None:
        raise click.ClickException(f"there is no organisation {organisation_code!r} (see monitor organisations list)")
    user = None
    if email:
        user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
        if user is None or not user.active:
            raise click.ClickException(f"there is no active account {email!r}")
    try:
        export = export_worklist(organisation, user=user, actor=user.email if user else "cli")
    except OutOfScope:
        raise click.ClickException(f"{email} may not export the work list of {organisation.code}: "
                                   "staff export their own organisation's") from None
    except ExportError as problem:
        raise click.ClickException(f"the questionnaire cannot be written as an XLSForm: {problem}") from None
    _write(output, export.data)
    db.session.commit()  # the audit entry, once the file is written
    holds = ("names and phone numbers: personal data, keep the file safe" if export.contact
             else "case codes, no names or phone numbers")
    click.echo(f"work list of {organisation.code} written to {output}: {len(export.cases)} cases, {holds}", err=True)


def _account(email: str | None):
    from sqlalchemy import func, select

    from monitor.extensions import db
    from monitor.models import User

    if not email:
        return None
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active:
        raise click.ClickException(f"there is no active account {email!r}")
    return user


@export_command.command("responses")
@_output
@click.option("--wave", "waves", multiple=True, metavar="W",
              help="Wave code(s), e.g. m6 (repeat or separate with commas; default: every wave).")
@click.option("--language", default="en", show_default=True, metavar="L",
              help="Language of the value labels (a returnee language: en, fr, nl, ru, ar, ...).")
@click.option("--with-text", is_flag=True,
              help="Add the free-text answers (they can hold names or numbers): administrators only, with --user.")
@click.option("--organisation", help="Only what this organisation's staff may see (its code).")
@click.option("--user", "email", default=None, metavar="EMAIL",
              help="Export as this account: partner staff get their organisation only; --with-text needs an "
                   "administrator's account.")
@with_appcontext
def responses_command(output, waves, language, with_text, organisation, email):
    """Write the responses: one row per follow-up of the waves (respondents and non-respondents), the
    design (stratum, N_h, probability, weight), scores, red flags and answers as numeric codes. The
    format follows the file name: .csv, .xlsx, .sav (SPSS) or .dta (Stata). No names, no phone numbers."""
    from monitor.exports.responses import FORMATS, ExportRefused, export_responses
    from monitor.extensions import db
    from monitor.followups.waves import wave_codes
    from monitor.reports.cli import _list
    from monitor.reports.filters import FilterError, ReportFilter
    from surveys.translation import LANGUAGES

    fmt = os.path.splitext(output)[1].lower().lstrip(".")
    if output == "-" or fmt not in FORMATS:
        raise click.ClickException(f"{output}: give a file name ending in .csv, .xlsx, .sav or .dta")
    if language not in LANGUAGES:
        raise click.ClickException(f"unknown language {language!r} (one of {', '.join(LANGUAGES)})")
    waves = _list(waves)
    unknown = [w for w in waves if w not in wave_codes()]
    if unknown:
        raise click.ClickException(f"unknown wave {', '.join(unknown)} (known: {', '.join(wave_codes())})")
    user = _account(email)
    if with_text and user is None:
        raise click.ClickException("--with-text needs --user EMAIL of an administrator: free text can hold "
                                   "names and numbers, and its export is audited under that account")
    try:
        flt = ReportFilter(waves=waves, organisation=organisation or None)
        if user is not None and user.partner_scoped:
            own = ReportFilter.for_user(user).organisation
            if organisation and organisation != own:
                raise click.ClickException(f"{email} exports the figures of its own organisation ({own}) only")
            flt = ReportFilter(waves=waves, organisation=own)
        flt.where_clauses()  # an unknown organisation is an error before anything is written
        export = export_responses(flt, fmt=fmt, language=language, with_text=with_text, user=user,
                                  actor=None if user else "cli")
    except FilterError as problem:
        raise click.ClickException(str(problem)) from None
    except ExportRefused as problem:
        raise click.ClickException(f"{email}: {problem}") from None
    _write(output, export.data)
    db.session.commit()  # the audit entry, once the file is written
    text = "with free-text answers: keep the file safe" if with_text else "no free text"
    click.echo(f"{export.rows} follow-ups written to {output} ({fmt}, labels in {language}, {text})", err=True)
