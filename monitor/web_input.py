"""What a request may carry. Forms and addresses refuse NUL and the other control characters
(never tab, CR and LF, nor format characters such as the zero-width non-joiner Persian needs),
in one place, before any view; Twilio's webhooks strip them instead, so a STOP is never lost.
Page numbers are bounded, so an absurd one is an empty page rather than a database error."""
from __future__ import annotations

import re
from collections.abc import Iterable

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
LAST_PAGE = 100_000


def has_control_characters(values: Iterable[object]) -> bool:
    return any(isinstance(value, str) and CONTROL_CHARACTERS.search(value) for value in values)


def without_control_characters(text: str) -> str:
    return CONTROL_CHARACTERS.sub("", text)


def page_number(args, name: str = "page") -> int:
    """The page asked for, from 1 to LAST_PAGE; anything else is the first page."""
    value = args.get(name, "")
    if not value.isascii() or not value.isdigit() or len(value) > len(str(LAST_PAGE)):
        return 1
    return min(max(int(value), 1), LAST_PAGE)
