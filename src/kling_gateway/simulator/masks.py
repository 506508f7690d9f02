"""Segmentation masks shaped like the ones Kling's multi-elements "add-selection" returns.

The real service runs a segmentation model on the clicked points; the simulator stands in
with a filled disc around each point, which is deterministic and cheap, and encodes it in
the two forms Kling answers with: COCO compressed RLE (as pycocotools writes it) and a
base64 grayscale PNG.
"""

from __future__ import annotations

import base64
import itertools
import math
from typing import TypedDict

from kling_gateway.simulator.media import png_grayscale_mask

__all__ = [
    "MaskPayload",
    "PngMask",
    "RleMask",
    "coco_rle_counts",
    "decode_coco_rle",
    "mask_payload",
    "selection_mask",
]

# pycocotools' string form: 5 data bits per character, offset into printable ASCII.
_CHAR_OFFSET = 48
_DATA_MASK = 0x1F
_SIGN_BIT = 0x10
_CONTINUE = 0x20
_BITS_PER_CHAR = 5
_DISC_FRACTION = 8  # disc radius is 1/8 of the shorter side


class RleMask(TypedDict):
    size: list[int]
    counts: str


class PngMask(TypedDict):
    size: list[int]
    base64: str


class MaskPayload(TypedDict):
    rle_mask: RleMask
    png_mask: PngMask


def _check_size(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ValueError(f"mask size must be positive, got {width}x{height}")


def _check_point(x: float, y: float) -> None:
    # ``not a <= v <= b`` also rejects NaN, which would otherwise paint nothing silently.
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        raise ValueError(f"points must be fractions in [0, 1], got ({x}, {y})")


def _paint_disc(mask: bytearray, width: int, height: int, cx: float, cy: float) -> None:
    # Radius of at least one pixel guarantees the pixel under the point (whose centre is
    # within sqrt(0.5) of it) is always covered, even on tiny frames.
    radius = max(1.0, min(width, height) / _DISC_FRACTION)
    y_lo, y_hi = max(0, math.floor(cy - radius)), min(height - 1, math.ceil(cy + radius))
    for y in range(y_lo, y_hi + 1):
        dy = y + 0.5 - cy  # distances are measured to pixel centres
        half = radius * radius - dy * dy
        if half < 0:
            continue
        span = math.sqrt(half)
        x_lo = max(0, math.ceil(cx - span - 0.5))
        x_hi = min(width - 1, math.floor(cx + span - 0.5))
        if x_lo <= x_hi:
            mask[y * width + x_lo : y * width + x_hi + 1] = b"\x01" * (x_hi - x_lo + 1)


def selection_mask(width: int, height: int, points: list[tuple[float, float]]) -> bytes:
    """Return a row-major 0/1 mask with a filled disc around each (x, y) fraction point.

    Points are fractions of the frame with the origin at the top left, as Kling takes them.
    """
    _check_size(width, height)
    mask = bytearray(width * height)
    for x, y in points:
        _check_point(x, y)
        _paint_disc(mask, width, height, x * width, y * height)
    return bytes(mask)


def _column_major(mask: bytes, width: int) -> bytes:
    # COCO (like numpy's Fortran order) walks down each column before moving right.
    return b"".join(mask[x::width] for x in range(width))


def _run_lengths(flat: bytes) -> list[int]:
    counts = [len(list(run)) for _, run in itertools.groupby(flat)]
    # COCO counts always start with a run of zeros, which may be empty.
    return [0, *counts] if flat[:1] == b"\x01" else counts


def _encode_counts(counts: list[int]) -> str:
    chars: list[str] = []
    for i, count in enumerate(counts):
        # From the fourth count on, store the difference to the count two back (the
        # previous run of the same value); pycocotools uses i > 2, not i >= 2.
        value = count - counts[i - 2] if i > 2 else count
        more = True
        while more:
            chunk = value & _DATA_MASK
            value >>= _BITS_PER_CHAR  # arithmetic shift, like the C code's signed long
            more = value != -1 if chunk & _SIGN_BIT else value != 0
            chars.append(chr(chunk + (_CONTINUE if more else 0) + _CHAR_OFFSET))
    return "".join(chars)


def coco_rle_counts(mask: bytes, width: int, height: int) -> str:
    """Return the COCO compressed RLE string of a row-major mask (non-zero means inside)."""
    _check_size(width, height)
    if len(mask) != width * height:
        raise ValueError(f"expected {width * height} mask values, got {len(mask)}")
    binary = bytes(1 if value else 0 for value in mask)
    return _encode_counts(_run_lengths(_column_major(binary, width)))


def _decode_counts(counts: str) -> list[int]:
    values: list[int] = []
    pos = 0
    while pos < len(counts):
        value, shift, more = 0, 0, True
        while more:
            if pos >= len(counts):
                raise ValueError("RLE string ends in the middle of a number")
            chunk = ord(counts[pos]) - _CHAR_OFFSET
            if not 0 <= chunk < 2 * _CONTINUE:
                raise ValueError(f"invalid RLE character {counts[pos]!r}")
            value |= (chunk & _DATA_MASK) << shift
            more = bool(chunk & _CONTINUE)
            pos, shift = pos + 1, shift + _BITS_PER_CHAR
            if not more and chunk & _SIGN_BIT:
                value |= -1 << shift  # sign-extend the last group
        if len(values) > 2:
            value += values[-2]
        values.append(value)
    return values


def decode_coco_rle(counts: str, width: int, height: int) -> bytes:
    """Inverse of :func:`coco_rle_counts`: return the row-major 0/1 mask."""
    _check_size(width, height)
    runs = _decode_counts(counts)
    if any(run < 0 for run in runs) or sum(runs) != width * height:
        raise ValueError(f"RLE counts do not describe a {width}x{height} mask")
    flat = b"".join((b"\x01" if i % 2 else b"\x00") * run for i, run in enumerate(runs))
    # Column-major index is x * height + y, so every height-th byte from y is row y.
    return b"".join(flat[y::height] for y in range(height))


def mask_payload(width: int, height: int, points: list[tuple[float, float]]) -> MaskPayload:
    """Return the ``rle_mask`` / ``png_mask`` pair Kling answers add-selection with."""
    mask = selection_mask(width, height, points)
    # PNG viewers show 0/1 as near-black; 0/255 makes the selection visible.
    png = png_grayscale_mask(width, height, mask.translate(bytes([0, 255]) + bytes(254)))
    size = [height, width]  # COCO and Kling give size as [height, width]
    return {
        "rle_mask": {"size": size, "counts": coco_rle_counts(mask, width, height)},
        "png_mask": {"size": list(size), "base64": base64.b64encode(png).decode("ascii")},
    }
