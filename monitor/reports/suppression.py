"""Disclosure control for publication (`--publication`; the page's switch).

Primary suppression: every count from 1 to threshold − 1 (zeros are shown) and every statistic
from fewer respondents than the threshold is shown as `<5` (`<threshold`). Secondary suppression
(shown as `x`: the cell is not small, it is hidden so that a small one cannot be worked out),
in a table with totals: a row or column with exactly one suppressed cell gets its smallest other
non-zero cell suppressed too (ties: the first column, then the first row), repeated until no line
has a single suppressed cell, so no suppressed value can be recomputed from a total. A total is a
count like any other: a small one is suppressed too (a total of 2 is a group of two people), and
the totals take part in the lines secondary suppression checks. A rate whose numerator (or whose
denominator) is suppressed is suppressed.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

DEFAULT_THRESHOLD = 5
SECONDARY = "x"


def mark(threshold: int) -> str:
    return f"<{threshold}"


def _shown(cells, position, threshold: int) -> str:
    i, j = position
    return mark(threshold) if small(cells[i][j], threshold) else SECONDARY


def small(value, threshold: int) -> bool:
    """A count that primary suppression hides: 1 to threshold − 1 (zero is shown)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < threshold


def hidden_cells(cells: Sequence[Sequence[float]], threshold: int, *, rows_have_totals: bool = True,
                 columns_have_totals: bool = True) -> set[tuple[int, int]]:
    """The (row, column) positions to suppress in a grid of counts whose rows and columns add up
    to shown totals: primary, then secondary until no row or column has exactly one."""
    n_rows, n_columns = len(cells), len(cells[0]) if cells else 0
    hidden = {(i, j) for i in range(n_rows) for j in range(n_columns) if small(cells[i][j], threshold)}
    lines = []
    if rows_have_totals:
        lines += [[(i, j) for j in range(n_columns)] for i in range(n_rows)]
    if columns_have_totals:
        lines += [[(i, j) for i in range(n_rows)] for j in range(n_columns)]
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(1 for p in line if p in hidden) != 1:
                continue
            others = [p for p in line if p not in hidden and cells[p[0]][p[1]] != 0]
            if others:  # the smallest; ties: first column, then first row
                hidden.add(min(others, key=lambda p: (cells[p[0]][p[1]], p[1], p[0])))
                changed = True
    return hidden


def suppress_table(rows: list[list], threshold: int, *, label_columns: int = 1) -> list[list]:
    """A table of label columns, count columns and a last total column, its last row the totals
    (the caseload): cells and totals suppressed alike. Each row with its total and
    each column with its total is a line (cells adding up to the last), so the totals are cells of
    the grid `hidden_cells` reads."""
    grid = [row[label_columns:] for row in rows]
    hidden = hidden_cells(grid, threshold)
    out = [list(row) for row in rows]
    for i, j in hidden:
        out[i][label_columns + j] = _shown(grid, (i, j), threshold)
    return out


def suppress_grouped(rows: list[list], threshold: int, *, group_of, is_total, count_columns: Sequence[int],
                     rates: dict[int, Sequence[Sequence[int]]] | None = None) -> list[list]:
    """Rows that come in groups with a total row each (the response table: the channels of a
    wave, country and partner, and their `all` row): counts suppressed, then secondary
    suppression down each column of a group (its total row shown), then the rates.
    `rates`: rate column -> (numerator count columns, denominator count columns)."""
    out = [list(row) for row in rows]
    groups: dict = {}
    for index, row in enumerate(rows):
        if not is_total(row):
            groups.setdefault(group_of(row), []).append(index)
    hidden: set[tuple[int, int]] = set()
    has_total = {group_of(row) for row in rows if is_total(row)}
    for key, members in groups.items():
        grid = [[rows[i][c] for c in count_columns] for i in members]
        if key in has_total:
            found = hidden_cells(grid, threshold, rows_have_totals=False)
        else:
            found = {(i, j) for i in range(len(grid)) for j in range(len(count_columns))
                     if small(grid[i][j], threshold)}
        hidden |= {(members[i], count_columns[j]) for i, j in found}
    for index, row in enumerate(rows):
        if is_total(row):
            hidden |= {(index, c) for c in count_columns if small(row[c], threshold)}
    for i, c in hidden:
        out[i][c] = _shown(rows, (i, c), threshold)
    for column, (numerator, denominator) in (rates or {}).items():
        for i, row in enumerate(rows):
            num = sum(row[c] for c in numerator)
            den = sum(row[c] for c in denominator)
            involved = any((i, c) in hidden for c in (*numerator, *denominator))
            if involved or small(num, threshold) or small(den, threshold):
                out[i][column] = mark(threshold)
    return out


def suppress_counts(row: list, threshold: int, *, counts: Iterable[int], rates: dict[int, int] | None = None,
                    denominators: dict[int, int] | None = None) -> list:
    """A row of counts without totals: primary suppression; `rates`: rate column -> its
    numerator column, `denominators`: rate column -> its denominator column."""
    out = list(row)
    for c in counts:
        if small(row[c], threshold):
            out[c] = mark(threshold)
    for column, numerator in (rates or {}).items():
        denominator = (denominators or {}).get(column)
        if small(row[numerator], threshold) or (denominator is not None and row[denominator] < threshold):
            out[column] = mark(threshold)
    return out


def suppress_statistic(row: list, threshold: int, *, n_column: int) -> list:
    """An estimate from fewer respondents than the threshold: n and every figure after it hidden
    (the unreliable mark stays)."""
    if row[n_column] >= threshold:
        return list(row)
    if row[n_column] == 0:
        return list(row)
    out = list(row)
    for c in range(n_column, len(row) - 1):
        out[c] = mark(threshold)
    return out
