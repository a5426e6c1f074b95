"""SMS texts: encoding and segments, and every invitation within two segments in every language."""
from __future__ import annotations

import secrets

import pytest

from monitor.sms.segments import segments
from monitor.sms.texts import INVITATION, REMINDER, invitation_text
from surveys.translation import LANGUAGES, translator

LINK = "https://monitor.example.org/s/" + secrets.token_urlsafe(16)


@pytest.mark.parametrize("text, encoding, units, count", [
    ("Hello", "GSM-7", 5, 1),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("€" * 80, "GSM-7", 160, 1),  # the euro sign takes two septets
    ("ç", "UCS-2", 1, 1),  # lower-case c cedilla is not in GSM-7 (only the capital is)
    ("ა" * 70, "UCS-2", 70, 1),
    ("ა" * 71, "UCS-2", 71, 2),
    ("ა" * 134, "UCS-2", 134, 2),
    ("ა" * 135, "UCS-2", 135, 3),
    ("😀", "UCS-2", 2, 1),  # outside the BMP: two UTF-16 units
])
def test_segments(text, encoding, units, count):
    result = segments(text)
    assert (result.encoding, result.units, result.segments) == (encoding, units, count)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("reminder", [False, True])
def test_every_invitation_fits_in_two_segments(language, reminder):
    text = invitation_text(language, "Caritas Georgia", LINK, reminder=reminder)
    assert LINK in text and "Caritas Georgia" in text
    assert segments(text).segments <= 2, (language, segments(text), text)
    # Nothing that reveals return or migration, in English or in the returnee's language.
    lowered = text.lower()
    for word in ("return", "migra", "fedasil", "asylum", "belgi"):
        assert word not in lowered
    assert translator(language).has(REMINDER if reminder else INVITATION)
