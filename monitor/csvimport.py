"""What every CSV import shares: decoding what Excel writes, the header, line-numbered row
errors and the report. Used by the returnee import and the response import.

    header, reader = open_table(data)            # InvalidValue: empty, not UTF-8
    problems = column_problems(header, REQUIRED, KNOWN)
    for line, raw in table_rows(reader, header, report):
        ...                                      # raw: column name -> cell, as in the file
"""
from __future__ import annotations

import codecs
import csv
import gc
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import click
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from monitor.extensions import db
from monitor.returnees.parsing import InvalidValue
from monitor.web_input import CONTROL_CHARACTERS

BATCH = 500  # values in one SQL IN (...)


@dataclass
class RowError:
    line: int  # 0 for a problem with the file as a whole
    message: str
    code: str | None = None

    def __str__(self) -> str:
        if not self.line:
            return _("file: %(message)s", message=self.message)
        if self.code:
            return _("line %(line)s (%(code)s): %(message)s", line=self.line, code=self.code, message=self.message)
        return _("line %(line)s: %(message)s", line=self.line, message=self.message)


@dataclass
class ImportReport:
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # rows recognised as imported before (offline submissions)
    written: bool = False

    @property
    def rejected(self) -> int:
        return len({e.line for e in self.errors})

    @property
    def file_error(self) -> bool:
        return any(e.line == 0 for e in self.errors)


_CHUNK = 1 << 20


def check_utf8(data: bytes) -> None:
    """UTF-8, with or without the byte order mark Excel puts first; checked a megabyte at a
    time, so that no text copy of a large file is kept."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), _CHUNK):
            decoder.decode(view[start:start + _CHUNK], final=start + _CHUNK >= len(data))
    except UnicodeDecodeError:
        raise InvalidValue(_("the file is not UTF-8 text: in Excel, save it as \"CSV UTF-8\"")) from None


def delimiter(header_line: str) -> str:
    # Excel in a Belgian or French locale writes ';'.
    return max((",", ";", "\t"), key=header_line.count)


def open_table(data: bytes):
    """The header (names stripped and lower-cased, Excel's trailing empty columns dropped) and a
    csv reader positioned on the first row after it. The file is read as a stream: a large
    file is not copied as text."""
    check_utf8(data)
    # newline="": the csv module sees the line endings as they are, "\r" alone included.
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    first_line = next((line for line in stream if line.strip()), None)
    if first_line is None:
        raise InvalidValue(_("the file is empty"))
    stream.seek(0)
    reader = csv.reader(stream, delimiter=delimiter(first_line), strict=True)
    # Blank lines before the header are skipped; a file of nothing but separators and blanks is
    # empty (not a StopIteration out of the import).
    header = next((row for row in reader if any(cell.strip() for cell in row)), None)
    if header is None:
        raise InvalidValue(_("the file is empty"))
    header = [h.strip().lower() for h in header]
    while header and not header[-1]:  # Excel's trailing empty columns
        header.pop()
    return header, reader


def estimated_rows(data: bytes) -> int:
    """Lines after the header, for a progress bar's length (a cell over several lines counts more)."""
    return max(data.count(b"\n") - (1 if data.endswith(b"\n") else 0), 1)


def column_problems(header: list[str], required: Iterable[str], known: Iterable[str]) -> list[str]:
    """What is wrong with the header: missing, unknown and repeated columns (empty when fine)."""
    known = set(known)
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in known]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    parts = []
    if missing:
        parts.append(_("missing columns: %(columns)s", columns=", ".join(missing)))
    if unknown:
        parts.append(_("unknown columns: %(columns)s", columns=", ".join(unknown)))
    if duplicated:
        parts.append(_("columns given twice: %(columns)s", columns=", ".join(duplicated)))
    return parts


def table_rows(reader, header: list[str], report: ImportReport) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number in the file, column -> cell) for each row that is not blank; every row counts
    in `report.rows`. A row with more cells than columns, a control character (NUL...) or a quote
    left open becomes an error instead (an open quote would silently merge the rows after it)."""
    separator = reader.dialect.delimiter
    previous_end = reader.line_num
    while True:
        start = previous_end + 1  # where this record begins in the file
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as problem:
            if "unexpected end of data" not in str(problem):
                raise
            report.rows += 1  # the file ends inside a quoted cell (strict reader)
            report.errors.append(RowError(start, _("a quote opened on this line is never closed")))
            return
        previous_end = line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        report.rows += 1
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            report.errors.append(RowError(line, _("more cells than columns: a value that holds the separator must be in quotes")))
            continue
        if any(CONTROL_CHARACTERS.search(c) for c in cells):
            report.errors.append(RowError(line, _("a cell holds a control character (such as NUL)")))
            continue
        if line > start and any(_holds_rows(c, separator, len(header)) for c in cells):
            report.errors.append(RowError(start, _("a quote opened on this line closes only on line %(end)s, "
                                                   "merging the rows between: check the quotes", end=line)))
            continue
        yield line, {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header)}


def _holds_rows(cell: str, separator: str, columns: int) -> bool:
    """A quoted cell over several lines is fine (a note with a line break), unless a line of it
    looks like a row of the table: then a quote was left open."""
    return columns > 1 and any(part.count(separator) >= columns - 1 for part in cell.splitlines()[1:])


def batches(values: Iterable, size: int = BATCH) -> Iterator[list]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def lookup(column, values: Iterable) -> dict:
    """The rows whose `column` (a unique model attribute) is among `values`, by that value."""
    model = column.class_
    found = {}
    for chunk in batches(dict.fromkeys(values)):
        for obj in db.session.scalars(select(model).where(column.in_(chunk))):
            found[getattr(obj, column.key)] = obj
    return found


def run_import(data: bytes, read, write, *, action: str, dry_run: bool, skip_invalid: bool,
               user=None, actor: str | None = None, filename: str = "", details: dict | None = None) -> ImportReport:
    """The shape every import has: `read(data, report)` validates every row (raising
    InvalidValue for the file as a whole) and returns what to write; `write(rows, report)` writes
    it. Nothing is written when `dry_run`, or when any row is invalid and not `skip_invalid`.
    A written import is one audit entry (file name, SHA-256, counts) and one commit. When the
    scheduler moves a follow-up the import also changes, or another import writes the same
    response first, the whole import runs again on what is stored then (it is idempotent):
    never a half-written file."""
    return _retried(lambda: _run_import_once(data, read, write, action=action, dry_run=dry_run,
                                             skip_invalid=skip_invalid, user=user, actor=actor, filename=filename,
                                             details=details))


def _retried(run_once) -> ImportReport:
    """The whole import again, on what is stored then, when another import or person wrote the
    same rows first (at most three times)."""
    for attempt in range(3):
        try:
            return run_once()
        except (StaleDataError, IntegrityError):
            db.session.rollback()
            if attempt == 2:
                raise


def _record(report: ImportReport, data: bytes, action: str, user, actor, filename: str, details: dict | None) -> None:
    """A written import's audit entry: the file's name and SHA-256, and the counts."""
    from monitor import audit

    audit.record(action, user=user, actor=actor, details={
        "file": filename[:200], "sha256": hashlib.sha256(data).hexdigest(), **(details or {}),
        "rows": report.rows, "created": report.created, "updated": report.updated,
        "unchanged": report.unchanged, "rejected": report.rejected,
        **({"skipped": report.skipped} if report.skipped else {})})


def _run_import_once(data: bytes, read, write, *, action: str, dry_run: bool, skip_invalid: bool,
                     user=None, actor: str | None = None, filename: str = "", details: dict | None = None):
    report = ImportReport()
    try:
        rows = read(data, report)
    except InvalidValue as problem:
        report.errors.append(RowError(0, str(problem)))
        return report
    except csv.Error as problem:  # e.g. a cell longer than the csv module accepts
        report.errors.append(RowError(0, _("the file cannot be read as CSV: %(problem)s", problem=str(problem))))
        return report
    report.errors.sort(key=lambda e: e.line)
    if dry_run or (report.errors and not skip_invalid) or report.file_error:
        return report
    write(rows, report)
    _record(report, data, action, user, actor, filename, details)
    db.session.commit()
    report.written = True
    return report


def run_batched_import(data: bytes, read_batches, write_batch, *, action: str, dry_run: bool, skip_invalid: bool,
                       user=None, actor: str | None = None, filename: str = "", details: dict | None = None,
                       progress=None, before_commit=None) -> ImportReport:
    """The streaming twin of run_import, for files of many rows: `read_batches(data, report)`
    yields the valid rows a batch at a time as it reads and validates the file (raising
    InvalidValue for the file as a whole); `write_batch(rows, report)` writes one batch. Batches
    are written as they come, inside one transaction: memory stays bounded by a batch and the
    import stays atomic. Nothing is committed when `dry_run`, when any row is invalid and not
    `skip_invalid` (writing stops at the first invalid row; the rest is still checked, for the
    report), or when anything fails. `progress(rows_read)` is called after each batch;
    `before_commit(report)` last, inside the transaction: it may raise to abort the import.
    Runs again whole on what is stored then when another writer took the same rows first."""
    # The import makes and drops objects by the hundred thousand: the collector's full passes
    # need not scan the application's own (long-lived) objects each time. Frozen for the
    # import's duration only; freezing changes what is scanned, never what is kept alive.
    gc.freeze()
    try:
        return _retried(lambda: _run_batched_once(
            data, read_batches, write_batch, action=action, dry_run=dry_run, skip_invalid=skip_invalid, user=user,
            actor=actor, filename=filename, details=details, progress=progress, before_commit=before_commit))
    finally:
        gc.unfreeze()


def _run_batched_once(data, read_batches, write_batch, *, action, dry_run, skip_invalid, user, actor, filename,
                      details, progress, before_commit) -> ImportReport:
    report = ImportReport()
    try:
        for rows in read_batches(data, report):
            if not dry_run and (skip_invalid or not report.errors):
                write_batch(rows, report)
            if progress is not None:
                progress(report.rows)
        report.errors.sort(key=lambda e: e.line)
        if dry_run or (report.errors and not skip_invalid) or report.file_error:
            db.session.rollback()  # what earlier batches wrote before an invalid row was met
            report.created = report.updated = report.unchanged = 0
            return report
        _record(report, data, action, user, actor, filename, details)
        if before_commit is not None:
            before_commit(report)
        db.session.commit()
    except (InvalidValue, csv.Error) as problem:
        db.session.rollback()
        report.created = report.updated = report.unchanged = 0
        message = str(problem) if isinstance(problem, InvalidValue) else \
            _("the file cannot be read as CSV: %(problem)s", problem=str(problem))
        report.errors.append(RowError(0, message))
        report.errors.sort(key=lambda e: e.line)
        return report
    except BaseException:
        db.session.rollback()
        raise
    report.written = True
    return report


def echo_report(report: ImportReport, dry_run: bool) -> None:
    """The command line's summary of an import: errors and warnings on stderr, the outcome on stdout."""
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    valid = report.rows - report.rejected
    if report.written:
        skipped = f", {report.skipped} skipped" if report.skipped else ""
        click.echo(f"{report.rows} rows read: {report.created} created, {report.updated} updated, "
                   f"{report.unchanged} unchanged, {report.rejected} rejected{skipped}")
    elif report.file_error:
        click.echo("nothing written: the file cannot be imported")
    elif dry_run:
        click.echo(f"dry run: {report.rows} rows read, {valid} valid, {report.rejected} rejected; nothing written")
    else:
        click.echo(f"nothing written: {report.rejected} of {report.rows} rows are invalid "
                   "(fix them, or use --skip-invalid to write the valid rows)")
