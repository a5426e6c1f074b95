"""`monitor export codebook|xlsform`: the questionnaire definition as files for partners and analysts.

    monitor export codebook -o codebook.csv [--version N]
    monitor export xlsform -o standard.xlsx [--version N]

Without --version: the current standard questionnaire (`surveys.registry.current()`). The file
layouts are described in surveys/exports.py. Needs no database and no app context.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import click

from surveys import registry
from surveys.definition import Questionnaire
from surveys.exports import ExportError, write_codebook, write_xlsform

QUESTIONNAIRE = "standard"


@click.group("export")
def export_command():
    """Export the questionnaire definition (codebook CSV, XLSForm for KoboCollect / ODK Collect)."""


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
