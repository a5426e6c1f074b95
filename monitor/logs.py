"""No personal data in logs. The application logs only ids, codes and counts; what libraries log
is kept in the same bounds here: a request line loses its query string (a search by phone number
travels in one), whichever server writes it."""
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


def init_logging() -> None:
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, DropQueryStrings) for f in werkzeug.filters):
        werkzeug.addFilter(DropQueryStrings())
