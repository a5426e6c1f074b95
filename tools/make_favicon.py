"""Write monitor/static/favicon.ico: a 16x16 icon (a return arrow, white on the stylesheet's
accent blue) as a palette PNG inside an ICO, about 150 bytes. Run again after changing the picture."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

# . transparent, # accent, o white
PICTURE = """
.##############.
################
#####o##########
####oo##########
###oooooooooo###
##oooooooooooo##
###ooooooooooo##
####oo#####ooo##
#####o#####ooo##
###########ooo##
###########ooo##
####oooooooooo##
####ooooooooo###
################
################
.##############.
"""
PALETTE = {".": (0, 0, 0), "#": (0x1F, 0x5F, 0xA8), "o": (0xFF, 0xFF, 0xFF)}
OPAQUE = {".": 0, "#": 255, "o": 255}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png() -> bytes:
    rows = [line for line in PICTURE.strip().splitlines()]
    assert len(rows) == 16 and all(len(r) == 16 for r in rows)
    keys = list(PALETTE)
    raw = b"".join(b"\x00" + bytes(keys.index(c) for c in row) for row in rows)
    return (b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 3, 0, 0, 0))
            + _chunk(b"PLTE", b"".join(bytes(PALETTE[k]) for k in keys))
            + _chunk(b"tRNS", bytes(OPAQUE[k] for k in keys))
            + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b""))


def ico() -> bytes:
    image = png()
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, len(image), 6 + 16)
    return header + entry + image


if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "monitor" / "static" / "favicon.ico"
    target.write_bytes(ico())
    print(f"{target}: {target.stat().st_size} bytes")
