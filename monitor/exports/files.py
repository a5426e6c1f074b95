"""The responses table as a file: CSV, Excel (openpyxl), SPSS .sav and Stata .dta (pyreadstat).

- CSV: UTF-8 without a byte order mark (R's read.csv reads it as it is), `,` between cells, `.`
  for decimals, one header line of variable names, an empty cell for a missing value.
- Excel: one sheet `responses` (the header, then the rows) and a sheet `variables` (name, label,
  value labels), numbers as numbers.
- SPSS and Stata: variable labels (the full item code), value labels in the chosen language,
  97 and 98 (don't know, prefer not to say) declared user-missing in SPSS.

A string cell that a spreadsheet would run as a formula (starting with =, +, -, @, a tab or a
carriage return) is written with a leading `'`; numbers are never changed (a negative number
stays a number).
"""
from __future__ import annotations

import csv
import io
import os
import tempfile

from monitor.exports.responses import ResponsesTable

MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "sav": "application/x-spss-sav",
    "dta": "application/x-stata-dta",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A formula-looking string gets a leading quote; anything else is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write(table: ResponsesTable, fmt: str) -> bytes:
    return {"csv": _csv, "xlsx": _xlsx, "sav": _sav, "dta": _dta}[fmt](table)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # every digit, "." for decimals
    return str(neutralise(value))


def _csv(table: ResponsesTable) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.names)
    writer.writerows([_text(v) for v in row] for row in table.rows)
    return out.getvalue().encode("utf-8")


def _xlsx(table: ResponsesTable) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("responses")
    sheet.append(table.names)
    for row in table.rows:
        sheet.append([neutralise(v) for v in row])
    variables = book.create_sheet("variables")
    variables.append(["name", "label", "values"])
    for v in table.variables:
        labels = "; ".join(f"{code} = {label}" for code, label in sorted(v.values.items()))
        variables.append([v.name, neutralise(v.label), neutralise(labels)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _frame(table: ResponsesTable):
    import pandas as pd

    columns = {}
    for i, v in enumerate(table.variables):
        values = [row[i] for row in table.rows]
        if v.numeric:
            columns[v.name] = pd.Series([float("nan") if x is None else float(x) for x in values], dtype="float64")
        else:
            columns[v.name] = pd.Series(["" if x is None else str(neutralise(x)) for x in values], dtype="object")
    return pd.DataFrame(columns)


def _through_file(writer, suffix: str) -> bytes:
    """pyreadstat writes to a path: a private temporary file, read back and removed."""
    handle, path = tempfile.mkstemp(suffix=suffix)
    os.close(handle)
    try:
        writer(path)
        with open(path, "rb") as written:
            return written.read()
    finally:
        os.unlink(path)


def _sav(table: ResponsesTable) -> bytes:
    import pyreadstat

    frame = _frame(table)
    labels = {v.name: {float(k): s for k, s in v.values.items()} for v in table.variables if v.values}
    missing = {v.name: [float(k) for k in v.missing] for v in table.variables if v.missing}
    return _through_file(lambda path: pyreadstat.write_sav(
        frame, path, column_labels={v.name: v.label for v in table.variables}, variable_value_labels=labels,
        missing_ranges=missing, file_label="responses"), ".sav")


def _dta(table: ResponsesTable) -> bytes:
    import pyreadstat

    frame = _frame(table)
    labels = {v.name: {float(k): s for k, s in v.values.items()} for v in table.variables if v.values}
    return _through_file(lambda path: pyreadstat.write_dta(
        frame, path, column_labels={v.name: v.label[:80] for v in table.variables}, variable_value_labels=labels,
        file_label="responses"), ".dta")
