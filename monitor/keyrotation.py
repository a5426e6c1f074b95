"""Key rotation: every encrypted value re-encrypted under the first key of DATA_ENCRYPTION_KEY.

The columns are found in the metadata (every `EncryptedText` column of every table), so a new
encrypted column is rotated without a change here; a blind index (a column whose `info` names
`blind_index_of`) is recomputed under the first key from its source column in the same
statement. Rows are read in batches by primary key and each batch is written in a transaction
of its own: an interrupted run leaves finished batches rotated and the rest readable with the
old key, and running it again skips what already reads with the first key. Each row is written
only when its encrypted values are still the ones read (compare and set), so a row the web app
or the scheduler changed meanwhile (written under the first key already) is left as they wrote it.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from monitor.extensions import cipher, db
from monitor.models.types import EncryptedText


@dataclass
class TableRotation:
    """One table's encrypted columns and blind indexes (index column -> source column)."""

    table: sa.Table
    columns: list[str]
    blind_indexes: dict[str, str] = field(default_factory=dict)

    @property
    def primary_key(self) -> str:
        (column,) = self.table.primary_key.columns
        return column.name


@dataclass
class RotationReport:
    rows: int = 0
    reencrypted: int = 0
    indexes_updated: int = 0
    changed_meanwhile: int = 0
    unreadable: dict[str, int] = field(default_factory=dict)  # "table.column" -> values no key reads

    def lines(self) -> list[str]:
        lines = [f"{self.rows} rows read, {self.reencrypted} values re-encrypted under the first key, "
                 f"{self.indexes_updated} lookup hashes recomputed"]
        if self.changed_meanwhile:
            lines.append(f"{self.changed_meanwhile} rows changed by the app meanwhile (already written under the "
                         "first key): run again to check them")
        lines += [f"error: {count} values in {where} read with no key of DATA_ENCRYPTION_KEY"
                  for where, count in sorted(self.unreadable.items())]
        return lines


def encrypted_tables() -> list[TableRotation]:
    found = []
    for table in db.metadata.sorted_tables:
        columns = [c.name for c in table.columns if isinstance(c.type, EncryptedText)]
        if columns:
            found.append(TableRotation(table, columns, {
                c.name: c.info["blind_index_of"] for c in table.columns if c.info.get("blind_index_of")}))
    return found


def rows_to_check() -> int:
    return sum(db.session.scalar(sa.select(sa.func.count()).select_from(t.table)) or 0 for t in encrypted_tables())


def rotate_key(batch_size: int = 500, on_batch: Callable[[str, int], None] | None = None) -> RotationReport:
    """Re-encrypt every value not yet under the first key; `on_batch(table, rows)` after each
    committed batch (progress)."""
    keys = current_app.config["DATA_ENCRYPTION_KEYS"]
    first = Fernet(keys[0])
    every = MultiFernet([Fernet(k) for k in keys])
    report = RotationReport()
    db.session.commit()  # the batches run in transactions of their own
    for rotation in encrypted_tables():
        _rotate_table(rotation, first, every, batch_size, on_batch, report)
    return report


def _rotate_table(rotation: TableRotation, first: Fernet, every: MultiFernet, batch_size: int,
                  on_batch, report: RotationReport) -> None:
    # Raw text columns: the ciphertext as stored, not the EncryptedText type's plaintext.
    pk = rotation.primary_key
    names = [*rotation.columns, *rotation.blind_indexes]
    raw = sa.table(rotation.table.name, sa.column(pk), *(sa.column(n, sa.Text) for n in names))
    last = None
    while True:
        query = sa.select(raw.c[pk], *(raw.c[n] for n in names)).order_by(raw.c[pk]).limit(batch_size)
        if last is not None:
            query = query.where(raw.c[pk] > last)
        with db.engine.begin() as conn:
            rows = conn.execute(query).all()
            if not rows:
                return
            for row in rows:
                _rotate_row(conn, raw, rotation, row._mapping, first, every, report)
        last = rows[-1][0]
        report.rows += len(rows)
        if on_batch:
            on_batch(rotation.table.name, len(rows))


def _rotate_row(conn, raw, rotation: TableRotation, row, first: Fernet, every: MultiFernet,
                report: RotationReport) -> None:
    pk = rotation.primary_key
    changes: dict[str, str] = {}
    plain: dict[str, str] = {}
    for name in rotation.columns:
        token = row[name]
        if token is None:
            continue
        try:
            plain[name] = first.decrypt(token.encode()).decode()
            continue
        except InvalidToken:
            pass
        try:
            plain[name] = every.decrypt(token.encode()).decode()
            changes[name] = every.rotate(token.encode()).decode()
        except InvalidToken:
            where = f"{rotation.table.name}.{name}"
            report.unreadable[where] = report.unreadable.get(where, 0) + 1
    for index, source in rotation.blind_indexes.items():
        if row[source] is not None and source in plain:
            expected = cipher.lookup_hash(plain[source])
            if not hmac.compare_digest(row[index] or "", expected):
                changes[index] = expected
    if not changes:
        return
    condition = sa.and_(raw.c[pk] == row[pk], *(
        raw.c[name].is_(None) if row[name] is None else raw.c[name] == row[name] for name in rotation.columns))
    if conn.execute(sa.update(raw).where(condition).values(changes)).rowcount == 1:
        report.reencrypted += sum(1 for name in changes if name in rotation.columns)
        report.indexes_updated += sum(1 for name in changes if name in rotation.blind_indexes)
    else:
        report.changed_meanwhile += 1


def fingerprint(key: str) -> str:
    """A short, non-secret name for a key (to say which one encrypts, never the key)."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]
