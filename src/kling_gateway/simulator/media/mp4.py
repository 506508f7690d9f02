"""The MP4 (ISO BMFF) container around the H.264 stream: one video track, "fast start"."""

from __future__ import annotations

import functools
import struct

from kling_gateway.simulator.media import h264

# Ticks per frame; several ticks per frame keep edit tools from rounding durations.
_TICKS_PER_FRAME = 512
_UNITY_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
_NAL_LENGTH_SIZE = 4


def _box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *payload)


def _ftyp() -> bytes:
    return _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2avc1mp41")


def _mvhd(timescale: int, duration: int) -> bytes:
    return _full_box(
        b"mvhd", 0, 0,
        struct.pack(">IIII", 0, 0, timescale, duration),  # fixed times keep output stable
        struct.pack(">IH10x", 0x10000, 0x0100),  # rate 1.0, volume 1.0
        _UNITY_MATRIX,
        bytes(24),  # pre_defined
        struct.pack(">I", 2),  # next_track_ID
    )  # fmt: skip


def _tkhd(duration: int, width: int, height: int) -> bytes:
    track_enabled_in_movie = 0x000003
    return _full_box(
        b"tkhd", 0, track_enabled_in_movie,
        struct.pack(">IIIII", 0, 0, 1, 0, duration),  # times, track_ID 1, reserved
        struct.pack(">8xhhH2x", 0, 0, 0),  # layer, alternate_group, volume 0 for video
        _UNITY_MATRIX,
        struct.pack(">II", width << 16, height << 16),  # 16.16 fixed point
    )  # fmt: skip


def _mdhd(timescale: int, duration: int) -> bytes:
    # ISO-639-2 "und", packed as three 5-bit letters offset by 0x60.
    language = sum((ord(c) - 0x60) << shift for c, shift in zip("und", (10, 5, 0), strict=True))
    return _full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, duration, language, 0))


def _hdlr() -> bytes:
    return _full_box(b"hdlr", 0, 0, bytes(4), b"vide", bytes(12), b"VideoHandler\x00")


def _dinf() -> bytes:
    # Flag 1 on the url entry means "media data is in this same file".
    url = _full_box(b"url ", 0, 1)
    return _box(b"dinf", _full_box(b"dref", 0, 0, struct.pack(">I", 1), url))


def _avcc(sps: bytes, pps: bytes) -> bytes:
    return _box(
        b"avcC",
        bytes([1, sps[1], sps[2], sps[3]]),  # version, profile, compatibility, level
        bytes([0xFC | (_NAL_LENGTH_SIZE - 1), 0xE0 | 1]),  # reserved bits, one SPS
        struct.pack(">H", len(sps)), sps,
        bytes([1]), struct.pack(">H", len(pps)), pps,
    )  # fmt: skip


def _stsd(width: int, height: int, sps: bytes, pps: bytes) -> bytes:
    avc1 = _box(
        b"avc1",
        bytes(6), struct.pack(">H", 1),  # reserved, data_reference_index
        bytes(16),  # pre_defined and reserved
        struct.pack(">HHII4xH", width, height, 0x480000, 0x480000, 1),  # 72 dpi, 1 frame
        bytes(32),  # compressorname (empty Pascal string)
        struct.pack(">Hh", 0x18, -1),  # depth 24, pre_defined
        _avcc(sps, pps),
    )  # fmt: skip
    return _full_box(b"stsd", 0, 0, struct.pack(">I", 1), avc1)


def _stbl(sample_sizes: list[int], chunk_offset: int, entry: bytes) -> bytes:
    count = len(sample_sizes)
    return _box(
        b"stbl",
        entry,
        _full_box(b"stts", 0, 0, struct.pack(">III", 1, count, _TICKS_PER_FRAME)),
        # All samples live in one chunk right after the moov box.
        _full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, count, 1)),
        _full_box(b"stsz", 0, 0, struct.pack(f">II{count}I", 0, count, *sample_sizes)),
        _full_box(b"stco", 0, 0, struct.pack(">II", 1, chunk_offset)),
        _full_box(b"stss", 0, 0, struct.pack(">II", 1, 1)),  # only the IDR is a sync sample
    )


def _moov(
    *, width: int, height: int, fps: int, sample_sizes: list[int], chunk_offset: int, entry: bytes
) -> bytes:
    # One timescale for movie and media makes duration == frames / fps exactly.
    timescale = fps * _TICKS_PER_FRAME
    duration = len(sample_sizes) * _TICKS_PER_FRAME
    minf = _box(
        b"minf",
        _full_box(b"vmhd", 0, 1, bytes(8)),  # flag 1 is mandatory; copy mode, no opcolor
        _dinf(),
        _stbl(sample_sizes, chunk_offset, entry),
    )
    mdia = _box(b"mdia", _mdhd(timescale, duration), _hdlr(), minf)
    trak = _box(b"trak", _tkhd(duration, width, height), mdia)
    return _box(b"moov", _mvhd(timescale, duration), trak)


def _check_video_args(width: int, height: int, frames: int, fps: int) -> None:
    for name, value in (("width", width), ("height", height)):
        if value < h264.MB or value % h264.MB:
            raise ValueError(f"{name} must be a positive multiple of {h264.MB}, got {value}")
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    if fps < 1:
        raise ValueError(f"fps must be at least 1, got {fps}")


@functools.lru_cache(maxsize=16)
def mp4_bytes(width: int = 64, height: int = 64, frames: int = 24, fps: int = 24) -> bytes:
    """Return a decodable H.264 MP4 of ``frames`` frames at ``fps`` (``frames / fps`` s)."""
    _check_video_args(width, height, frames, fps)
    entry = _stsd(width, height, h264.sps(width, height, fps), h264.pps())
    samples = h264.frame_samples(width, height, frames)
    sizes = [len(s) for s in samples]
    ftyp = _ftyp()
    # moov sits before mdat so players can start without seeking ("fast start"). Its size
    # does not depend on the offset value, so a first pass with 0 measures it.
    moov = functools.partial(
        _moov, width=width, height=height, fps=fps, sample_sizes=sizes, entry=entry
    )
    mdat_payload_offset = len(ftyp) + len(moov(chunk_offset=0)) + 8
    return ftyp + moov(chunk_offset=mdat_payload_offset) + _box(b"mdat", *samples)
