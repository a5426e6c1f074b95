"""How many SMS segments a text takes: GSM-7 when every character is in the GSM 03.38 basic
set (or its extension, which costs two), UCS-2 otherwise (Georgian, Armenian, Cyrillic, Arabic
script...). A single segment holds 160 GSM-7 or 70 UCS-2 characters; a longer message is split
into segments of 153 or 67, each carrying a header."""
from __future__ import annotations

import math
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class Segmentation:
    encoding: str  # GSM-7 or UCS-2
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def segments(text: str) -> Segmentation:
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    count = 1 if units <= single else math.ceil(units / multi)
    return Segmentation(encoding, units, count)
