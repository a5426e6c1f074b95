"""The extension objects, created once here and bound to an app in `create_app`."""
from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so Alembic migrations name the same thing on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Pages and files compressed as they are sent (zstd, brotli or gzip, as the browser accepts).
compress = Compress()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def conflict_insert():
    """The INSERT that knows ON CONFLICT for the database in use (PostgreSQL and SQLite both
    speak it; None for another): `conflict_insert()(table).on_conflict_do_nothing(...)`."""
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(db.engine.dialect.name)


def insert_many(table, rows: list[dict]) -> None:
    """Insert many rows (dicts with the same keys) in the session's transaction: through COPY on
    PostgreSQL, the fastest way in by far (an import's thousands of rows a batch), an executemany
    elsewhere. Column types apply as in any INSERT (encryption of personal data included);
    SQLAlchemy's events do not see the COPY."""
    if not rows:
        return
    dialect = db.engine.dialect
    if dialect.name != "postgresql":
        db.session.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    processors = [table.c[column].type.bind_processor(dialect) for column in columns]
    connection = db.session.connection().connection.driver_connection  # psycopg's, in the transaction
    names = ", ".join(f'"{column}"' for column in columns)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    try:
        with connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([process(row[column]) if process else row[column]
                                for column, process in zip(columns, processors)])
    except dialect.loaded_dbapi.Error as error:  # as SQLAlchemy's own: IntegrityError for a taken code...
        raise DBAPIError.instance(statement, None, error, dialect.loaded_dbapi.Error, dialect=dialect) from error


class FieldCipher:
    """Encryption at rest for personal data (names, phone numbers).

    DATA_ENCRYPTION_KEYS holds one or more Fernet keys; the first encrypts, all decrypt, so a
    key can be rotated without downtime (`monitor rotate-key`). `lookup_hash` is a keyed hash (a
    "blind index") that lets us find a record by phone number without storing the number in clear;
    its key is derived from the first encryption key, so lookups try every key's hash
    (`lookup_hashes`) until `monitor rotate-key` has recomputed the stored ones.
    """

    def init_app(self, app) -> None:
        keys = app.config["DATA_ENCRYPTION_KEYS"]
        app.extensions["monitor.cipher"] = (
            MultiFernet([Fernet(k) for k in keys]),
            [self._index_key(k) for k in keys],
        )

    @staticmethod
    def _index_key(key: str) -> bytes:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"monitor blind index")
        return hkdf.derive(key.encode())

    @staticmethod
    def _state():
        return current_app.extensions["monitor.cipher"]

    def encrypt(self, text: str) -> str:
        return self.encrypt_bytes(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self.decrypt_bytes(token.encode()).decode()

    def encrypt_bytes(self, data: bytes) -> bytes:
        """A file kept for a moment (an upload waiting for its import job)."""
        return self._state()[0].encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        try:
            return self._state()[0].decrypt(token)
        except InvalidToken as exc:
            raise RuntimeError("stored personal data cannot be decrypted with DATA_ENCRYPTION_KEY") from exc

    def lookup_hash(self, text: str) -> str:
        """The hash stored with a new value (under the first key)."""
        return _keyed_hash(self._state()[1][0], text)

    def lookup_hashes(self, text: str) -> list[str]:
        """The hashes a stored value may carry: one per key, the first key's first (a row not yet
        rotated still carries an older key's)."""
        return [_keyed_hash(key, text) for key in self._state()[1]]


def _keyed_hash(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


cipher = FieldCipher()
