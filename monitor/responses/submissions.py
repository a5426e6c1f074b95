"""Submissions of the offline work list form (monitor/worklist/offline.py) as ODK Central and
KoboToolbox export them, read into rows of the response CSV contract so that they go through
the same import (monitor/responses/importing.py).

Recognised from the header row (names as `open_table` gives them: stripped, lower case):

    ODK Central, CSV export with its defaults: `SubmissionDate`, the form's fields named by their
        group path joined with "-" (`housing-housing_situation`), then `meta-instanceID`, `KEY`,
        `SubmitterID`, `SubmitterName`, `AttachmentsPresent`, `AttachmentsExpected`, `Status`,
        `ReviewState`, `DeviceID`, `Edits`, `FormVersion`. The instance ID is `KEY` (it stays
        the same when the submission is edited on the server); `ReviewState` "rejected" is skipped.
    KoboToolbox, CSV export with "XML values and headers": the fields named by their group path
        joined with "/" (`housing/housing_situation`; without groups if so exported), a multiple
        choice also split into `path/option` columns of 1 and 0 (ignored), then `_id`, `_uuid`,
        `_submission_time`, `_validation_status`, `_notes`, `_status`, `_submitted_by`,
        `__version__`, `_tags`, `_index`. The instance ID is `_uuid` (or `meta/rootUuid`).

Multiple choices are space-separated in both. A submission becomes a contract row: `code` and
`wave` from the case list key (`case`), `mode` and the interview language from the form's
questions, `disposition` 2.11 when consent was declined and otherwise 1.1 (made 1.2 or 2.12 by
the import when required answers are missing), the completion time from `end` or else the
submission time.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone

from monitor.returnees.parsing import InvalidValue

from surveys.definition import Questionnaire
from surveys.exports import field_paths, worklist_sheets
from surveys.items import MultipleChoice, RankedTopThree
from surveys.translation import LANGUAGES


@dataclass(frozen=True)
class Format:
    name: str
    separator: str  # between the groups of a field's path in a column name
    required: frozenset[str]  # the columns that tell the format
    instance_columns: tuple[str, ...]  # the first one given is the submission's instance ID
    submitted_column: str
    metadata: frozenset[str]  # the columns that are not the form's fields


CENTRAL = Format(
    "ODK Central", "-", frozenset({"submissiondate", "meta-instanceid", "key"}), ("key", "meta-instanceid"),
    "submissiondate",
    frozenset({"submissiondate", "meta-instanceid", "meta-instancename", "meta-deprecatedid", "key", "submitterid",
               "submittername", "attachmentspresent", "attachmentsexpected", "status", "reviewstate", "deviceid",
               "edits", "formversion"}))
KOBO = Format(
    "KoboToolbox", "/", frozenset({"_uuid", "_submission_time"}), ("meta/rootuuid", "_uuid", "meta/instanceid"),
    "_submission_time",
    frozenset({"_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status", "_submitted_by",
               "__version__", "_version_", "_tags", "_index", "_attachments", "_geolocation", "_xform_id_string",
               "meta/instanceid", "meta/rootuuid", "meta/deprecatedid", "meta/instancename", "formhub/uuid"}))
FORMATS = (CENTRAL, KOBO)


def unzipped(data: bytes) -> bytes:
    """The CSV file of a zip as ODK Central downloads it (`<form id>.csv`, with `media/` when
    asked for), or the data as it is when it is no zip."""
    if not data.startswith(b"PK\x03\x04"):
        return data
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        tables = [name for name in archive.namelist() if name.lower().endswith(".csv") and "/" not in name]
        if len(tables) != 1:
            raise InvalidValue(f"the zip holds {len(tables)} CSV files beside each other: give the CSV file itself")
        return archive.read(tables[0])
    except (zipfile.BadZipFile, OSError):
        raise InvalidValue("the file looks like a zip but cannot be read") from None


def recognise(header: list[str]) -> Format | None:
    """The export format of a header row, or None (then it is the contract's own)."""
    return next((f for f in FORMATS if f.required <= set(header)), None)


@dataclass
class Submission:
    line: int
    instance_id: str  # without "uuid:"; empty when the export has none
    raw: dict[str, str]  # the contract's columns: code, wave, mode, date, disposition, item codes
    completed_at: datetime | None
    language: str | None
    problems: list[str] = field(default_factory=list)
    skip: str | None = None  # why it is not imported (rejected on the server)


class Columns:
    """Which column of the export holds which field of the work list form."""

    def __init__(self, source: Format, header: list[str], questionnaire: Questionnaire):
        self.source = source
        paths = field_paths(worklist_sheets(questionnaire, form_id="worklist", version="0"))
        by_column = {}
        for name, path in paths.items():
            by_column[source.separator.join(path).lower()] = name
            by_column.setdefault(name.lower(), name)  # exported without group names
        self.field_at: dict[str, str] = {}
        self.unknown: list[str] = []
        split = {}  # a multiple choice split into one column per option (KoboToolbox)
        for name, path in paths.items():
            for prefix in (source.separator.join(path).lower(), name.lower()):
                split[prefix + source.separator] = name
        for column in header:
            if column in by_column:
                self.field_at[by_column[column]] = column
            elif column not in source.metadata and not any(column.startswith(p) for p in split) and column:
                self.unknown.append(column)

    def get(self, cells: dict[str, str], name: str) -> str:
        column = self.field_at.get(name)
        return cells.get(column, "").strip() if column else ""


def _moment(value: str) -> datetime | None:
    """An ISO 8601 time as the exports write it ('2026-11-20T10:15:02.123+04:00', '...Z', or
    KoboToolbox's submission time without a zone, which is UTC), in UTC."""
    value = value.strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def read(columns: Columns, line: int, cells: dict[str, str], questionnaire: Questionnaire) -> Submission:
    source = columns.source
    problems: list[str] = []
    instance_id = next((cells[c].strip() for c in source.instance_columns if cells.get(c, "").strip()), "")
    instance_id = instance_id.removeprefix("uuid:")[:100]
    if not instance_id:
        problems.append(f"the submission has no instance ID ({', '.join(source.instance_columns)})")

    key = columns.get(cells, "case")
    code, slash, wave = key.rpartition("/")
    if not (slash and code and wave):
        problems.append(f"column case: {key[:60]!r} is not a key of the case list (case code/wave)" if key
                        else "column case: empty: the submission names no case of the case list")
    ended = _moment(columns.get(cells, "end"))
    submitted = _moment(cells.get(source.submitted_column, ""))
    completed_at = ended or submitted
    if completed_at is None:
        problems.append(f"neither end nor {source.submitted_column} holds a time")
    version = columns.get(cells, "questionnaire_version")
    if version and version != str(questionnaire.version):
        problems.append(f"the submission answers questionnaire version {version[:10]}, not {questionnaire.version}: "
                        f"import it with --version {version[:10]}")
    language = columns.get(cells, "language") or None
    if language is not None and language not in LANGUAGES:
        problems.append(f"column language: {language[:20]!r} is not a language of the questionnaire")
    consent = columns.get(cells, "consent")
    disposition = {"agree": "1.1", "decline": "2.11"}.get(consent, "")
    if not disposition:
        problems.append(f"column consent: {consent[:20]!r} is neither agree nor decline")

    raw = {"code": code, "wave": wave, "mode": columns.get(cells, "mode"),
           "date": completed_at.date().isoformat() if completed_at else "", "disposition": disposition}
    for item in questionnaire.items:
        raw[item.code] = ";".join(_answer(columns, cells, item))
    skip = None
    if source is CENTRAL and cells.get("reviewstate", "").strip().lower() == "rejected":
        skip = "rejected in review on ODK Central"
    return Submission(line, instance_id, raw, completed_at, language, problems, skip)


def _answer(columns: Columns, cells: dict[str, str], item) -> list[str]:
    """The answer's codes (or its one value), as the contract lists them."""
    if isinstance(item, RankedTopThree):
        joined = columns.get(cells, item.code)  # the form's calculate: ranks joined by spaces
        if joined:
            return joined.split()
        return [value for n in range(1, item.ranks + 1) if (value := columns.get(cells, f"{item.code}_{n}"))]
    value = columns.get(cells, item.code)
    if isinstance(item, MultipleChoice):
        chosen = value.split()
        first = columns.get(cells, f"{item.code}_first")
        if first in chosen:  # the one that came first comes first
            chosen.remove(first)
            chosen.insert(0, first)
        return chosen
    return [value] if value else []
