"""PNG images: solid or gradient RGB results, and 8-bit grayscale masks."""

from __future__ import annotations

import functools
import struct
import zlib
from collections.abc import Iterable

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_MAX_SIDE = 2**31 - 1  # the PNG spec limits each dimension to a signed 32-bit int
_COLOR_TYPE_GRAY = 0
_COLOR_TYPE_RGB = 2
_DEFAULT_RGB = (64, 128, 192)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    # The CRC covers the chunk type as well as its data (PNG spec, section 5.3).
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _check_png_size(width: int, height: int) -> None:
    for name, value in (("width", width), ("height", height)):
        if not 1 <= value <= _PNG_MAX_SIDE:
            raise ValueError(f"PNG {name} must be in 1..{_PNG_MAX_SIDE}, got {value}")


def _encode_png(width: int, height: int, color_type: int, rows: Iterable[bytes]) -> bytes:
    """Assemble a non-interlaced 8-bit PNG from already-packed scanlines."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    # Each scanline is prefixed with filter type 0 ("None"); zlib does the real work.
    raw = b"".join(b"\x00" + row for row in rows)
    return (
        PNG_SIGNATURE
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(raw, 9))
        + _png_chunk(b"IEND", b"")
    )


def _gradient_row(width: int, rgb: tuple[int, int, int]) -> bytes:
    # Ramp each channel from near black on the left up to ``rgb`` on the right, so a
    # viewer can tell a gradient result from a solid one at a glance.
    row = bytearray()
    for x in range(width):
        row.extend(channel * (x + 1) // width for channel in rgb)
    return bytes(row)


@functools.lru_cache(maxsize=64)
def png_bytes(
    width: int,
    height: int,
    rgb: tuple[int, int, int] = _DEFAULT_RGB,
    *,
    gradient: bool = False,
) -> bytes:
    """Return an RGB PNG of ``width`` x ``height``: solid ``rgb`` or a horizontal ramp to it."""
    _check_png_size(width, height)
    if len(rgb) != 3 or any(not 0 <= c <= 255 for c in rgb):
        raise ValueError(f"rgb must be three values in 0..255, got {rgb!r}")
    row = _gradient_row(width, rgb) if gradient else bytes(rgb) * width
    return _encode_png(width, height, _COLOR_TYPE_RGB, (row for _ in range(height)))


# Masks differ per request and can be large, so only a few recent ones are kept.
@functools.lru_cache(maxsize=16)
def png_grayscale_mask(width: int, height: int, pixels: bytes) -> bytes:
    """Return an 8-bit grayscale PNG from a row-major buffer (typically 0/255 values)."""
    _check_png_size(width, height)
    if len(pixels) != width * height:
        raise ValueError(f"expected {width * height} pixels, got {len(pixels)}")
    rows = (pixels[y * width : (y + 1) * width] for y in range(height))
    return _encode_png(width, height, _COLOR_TYPE_GRAY, rows)
