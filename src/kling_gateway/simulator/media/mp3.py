"""MP3 results: an MPEG-1 Layer III stream of silent frames, 44.1 kHz mono, 32 kbit/s."""

from __future__ import annotations

import functools
import struct

from kling_gateway.simulator.media.timing import frame_count

SAMPLE_RATE = 44100
SAMPLES_PER_FRAME = 1152  # fixed for MPEG-1 Layer III
_BITRATE = 32000  # the lowest MPEG-1 Layer III rate: silence needs no bits
_SIDE_INFO_MONO = 17  # bytes of side info after the header in a mono MPEG-1 frame


def _header(padded: bool) -> bytes:
    # Sync word + MPEG-1 + Layer III + no CRC (0xFFFB); bitrate index 1 (32 kbit/s), rate
    # index 0 (44.1 kHz), the padding bit; channel mode 3 (mono), the rest zero.
    return struct.pack(">HBB", 0xFFFB, 0x10 | (0x02 if padded else 0), 0xC0)


def _frame(padded: bool) -> bytes:
    """A frame whose side info is all zero: no Huffman bits, so it decodes as silence."""
    # A Layer III frame is 144 * bitrate / sample_rate bytes (104.49 here), rounded down,
    # plus one byte when the padding bit is set.
    size = 144 * _BITRATE // SAMPLE_RATE + padded
    return _header(padded).ljust(size, b"\x00")


def _padding_pattern(frames: int) -> list[bool]:
    """Pad exactly those frames that keep the running byte count on the nominal bitrate.

    Players without a seek index estimate the length as bytes / bitrate, so an exact
    average rate makes that estimate match the real frame count.
    """
    def total(n: int) -> int:
        return 144 * _BITRATE * n // SAMPLE_RATE

    return [total(i + 1) - total(i) > total(1) for i in range(frames)]


@functools.lru_cache(maxsize=16)
def mp3_bytes(seconds: float) -> bytes:
    """Return silent MP3 frames lasting ``seconds`` to the nearest frame (26.1 ms)."""
    frames = frame_count(seconds, SAMPLE_RATE, SAMPLES_PER_FRAME)
    plain, padded = _frame(False), _frame(True)
    return b"".join(padded if pad else plain for pad in _padding_pattern(frames))
