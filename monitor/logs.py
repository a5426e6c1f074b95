"""No personal data in logs. The application logs only ids, codes and counts; what libraries log
is kept in the same bounds here: a request line loses its query string (a search by phone number
travels in one), and SQL result rows (decrypted) are never logged."""
from __future__ import annotations

import logging
import re

_QUERY = re.compile(r"\?[^\s\"]*")


class DropQueryStrings(logging.Filter):
    """Werkzeug's request log ("GET /returnees?q=%2B995... HTTP/1.1" 200 -) without the query."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_QUERY.sub("?...", arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.msg, str):
            record.msg = _QUERY.sub("?...", record.msg)
        return True


class DropResultRows(logging.Filter):
    """SQLAlchemy's DEBUG log of each result row (SQLALCHEMY_ECHO="debug"): rows come after the
    decryption, names and numbers in clear. The statements stay; their parameters are hidden by
    the engine's hide_parameters (monitor/config.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(("Row ", "Col ")))


def _add(logger_name: str, kind: type[logging.Filter]) -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, kind) for f in logger.filters):
        logger.addFilter(kind())


def init_logging() -> None:
    _add("werkzeug", DropQueryStrings)
    _add("sqlalchemy.engine.Engine", DropResultRows)
