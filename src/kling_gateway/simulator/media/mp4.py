"""The MP4 (ISO BMFF) container: an H.264 video track and, if asked, a silent AAC sound track.

Both tracks keep all their samples in one chunk each, video first, in a single ``mdat`` that
follows the ``moov`` box ("fast start").
"""

from __future__ import annotations

import functools
import struct

from kling_gateway.simulator.media import aac, h264
from kling_gateway.simulator.media.timing import frame_count

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


def _mvhd(timescale: int, duration: int, next_track_id: int) -> bytes:
    return _full_box(
        b"mvhd", 0, 0,
        struct.pack(">IIII", 0, 0, timescale, duration),  # fixed times keep output stable
        struct.pack(">IH10x", 0x10000, 0x0100),  # rate 1.0, volume 1.0
        _UNITY_MATRIX,
        bytes(24),  # pre_defined
        struct.pack(">I", next_track_id),
    )  # fmt: skip


def _tkhd(
    track_id: int, duration: int, *, width: int = 0, height: int = 0, volume: int = 0
) -> bytes:
    # Video tracks have a size and volume 0; sound tracks have no size and volume 0x0100 (1.0).
    track_enabled_in_movie = 0x000003
    return _full_box(
        b"tkhd", 0, track_enabled_in_movie,
        struct.pack(">IIIII", 0, 0, track_id, 0, duration),  # times, track_ID, reserved
        struct.pack(">8xhhH2x", 0, 0, volume),  # layer, alternate_group, volume
        _UNITY_MATRIX,
        struct.pack(">II", width << 16, height << 16),  # 16.16 fixed point
    )  # fmt: skip


def _mdhd(timescale: int, duration: int) -> bytes:
    # ISO-639-2 "und", packed as three 5-bit letters offset by 0x60.
    language = sum((ord(c) - 0x60) << shift for c, shift in zip("und", (10, 5, 0), strict=True))
    return _full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, duration, language, 0))


def _hdlr(handler_type: bytes, name: bytes) -> bytes:
    return _full_box(b"hdlr", 0, 0, bytes(4), handler_type, bytes(12), name + b"\x00")


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


def _stsd(sample_entry: bytes) -> bytes:
    return _full_box(b"stsd", 0, 0, struct.pack(">I", 1), sample_entry)


def _avc1(width: int, height: int, sps: bytes, pps: bytes) -> bytes:
    return _box(
        b"avc1",
        bytes(6), struct.pack(">H", 1),  # reserved, data_reference_index
        bytes(16),  # pre_defined and reserved
        struct.pack(">HHII4xH", width, height, 0x480000, 0x480000, 1),  # 72 dpi, 1 frame
        bytes(32),  # compressorname (empty Pascal string)
        struct.pack(">Hh", 0x18, -1),  # depth 24, pre_defined
        _avcc(sps, pps),
    )  # fmt: skip


def _descriptor(tag: int, *payload: bytes) -> bytes:
    # MPEG-4 descriptors (ISO 14496-1 8.3.3): a one-byte length suffices below 128 bytes.
    body = b"".join(payload)
    return bytes([tag, len(body)]) + body


def _esds() -> bytes:
    frame_bits = 8 * len(aac.SILENT_FRAME)
    bitrate = frame_bits * aac.SAMPLE_RATE // aac.SAMPLES_PER_FRAME
    decoder_config = _descriptor(
        0x04,
        bytes([0x40, 0x15]),  # object type 0x40 (MPEG-4 audio); stream type 5 (audio) << 2 | 1
        len(aac.SILENT_FRAME).to_bytes(3, "big"),  # bufferSizeDB: the largest sample
        struct.pack(">II", bitrate, bitrate),  # max and average bitrate
        _descriptor(0x05, aac.AUDIO_SPECIFIC_CONFIG),
    )
    sl_config = _descriptor(0x06, b"\x02")  # predefined 2: the one MP4 files must use
    es = _descriptor(0x03, struct.pack(">HB", 0, 0), decoder_config, sl_config)  # ES_ID 0
    return _full_box(b"esds", 0, 0, es)


def _mp4a() -> bytes:
    return _box(
        b"mp4a",
        bytes(6), struct.pack(">H", 1),  # reserved, data_reference_index
        bytes(8),  # reserved (sound sample entry version 0)
        struct.pack(">HHHH", 1, 16, 0, 0),  # mono, 16-bit, pre_defined, reserved
        struct.pack(">I", aac.SAMPLE_RATE << 16),  # 16.16 fixed point
        _esds(),
    )  # fmt: skip


def _sample_tables(sample_sizes: list[int], ticks_per_sample: int, chunk_offset: int) -> bytes:
    count = len(sample_sizes)
    return b"".join((
        _full_box(b"stts", 0, 0, struct.pack(">III", 1, count, ticks_per_sample)),
        # All samples of the track live in one chunk, at chunk_offset in the mdat.
        _full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, count, 1)),
        _full_box(b"stsz", 0, 0, struct.pack(f">II{count}I", 0, count, *sample_sizes)),
        _full_box(b"stco", 0, 0, struct.pack(">II", 1, chunk_offset)),
    ))  # fmt: skip


def _video_trak(
    *, width: int, height: int, timescale: int, sample_sizes: list[int], chunk_offset: int,
    entry: bytes,
) -> bytes:  # fmt: skip
    duration = len(sample_sizes) * _TICKS_PER_FRAME
    stbl = _box(
        b"stbl",
        _stsd(entry),
        _sample_tables(sample_sizes, _TICKS_PER_FRAME, chunk_offset),
        _full_box(b"stss", 0, 0, struct.pack(">II", 1, 1)),  # only the IDR is a sync sample
    )
    minf = _box(
        b"minf",
        _full_box(b"vmhd", 0, 1, bytes(8)),  # flag 1 is mandatory; copy mode, no opcolor
        _dinf(),
        stbl,
    )
    mdia = _box(b"mdia", _mdhd(timescale, duration), _hdlr(b"vide", b"VideoHandler"), minf)
    return _box(b"trak", _tkhd(1, duration, width=width, height=height), mdia)


def _audio_trak(*, frames: int, movie_duration: int, chunk_offset: int) -> bytes:
    # Every AAC frame is a sync sample, so the sound track needs no stss.
    sizes = [len(aac.SILENT_FRAME)] * frames
    stbl = _box(
        b"stbl", _stsd(_mp4a()), _sample_tables(sizes, aac.SAMPLES_PER_FRAME, chunk_offset)
    )
    minf = _box(b"minf", _full_box(b"smhd", 0, 0, bytes(4)), _dinf(), stbl)  # centre balance
    # The media timescale is the sample rate, so each frame lasts exactly 1024 ticks.
    mdhd = _mdhd(aac.SAMPLE_RATE, frames * aac.SAMPLES_PER_FRAME)
    mdia = _box(b"mdia", mdhd, _hdlr(b"soun", b"SoundHandler"), minf)
    return _box(b"trak", _tkhd(2, movie_duration, volume=0x0100), mdia)


def _moov(
    *, width: int, height: int, fps: int, sample_sizes: list[int], chunk_offset: int,
    entry: bytes, audio_frames: int,
) -> bytes:  # fmt: skip
    # One timescale for movie and video media makes duration == frames / fps exactly.
    timescale = fps * _TICKS_PER_FRAME
    tracks = [
        _video_trak(
            width=width, height=height, timescale=timescale, sample_sizes=sample_sizes,
            chunk_offset=chunk_offset, entry=entry,
        )
    ]  # fmt: skip
    duration = len(sample_sizes) * _TICKS_PER_FRAME
    if audio_frames:
        # The sound's length in movie ticks, rounded up so that the movie covers all of it.
        samples = audio_frames * aac.SAMPLES_PER_FRAME
        audio_duration = -(-samples * timescale // aac.SAMPLE_RATE)
        tracks.append(
            _audio_trak(
                frames=audio_frames, movie_duration=audio_duration,
                chunk_offset=chunk_offset + sum(sample_sizes),  # the sound follows the video
            )
        )  # fmt: skip
        duration = max(duration, audio_duration)
    return _box(b"moov", _mvhd(timescale, duration, next_track_id=len(tracks) + 1), *tracks)


def _check_video_args(width: int, height: int, frames: int, fps: int) -> None:
    for name, value in (("width", width), ("height", height)):
        if value < h264.MB or value % h264.MB:
            raise ValueError(f"{name} must be a positive multiple of {h264.MB}, got {value}")
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    if fps < 1:
        raise ValueError(f"fps must be at least 1, got {fps}")


@functools.lru_cache(maxsize=16)
def mp4_bytes(
    width: int = 64, height: int = 64, frames: int = 24, fps: int = 24, *, with_audio: bool = False
) -> bytes:
    """Return a decodable H.264 MP4 of ``frames`` frames at ``fps`` (``frames / fps`` s).

    With ``with_audio`` it also carries a silent AAC-LC sound track (44.1 kHz mono) as long as
    the video to the nearest AAC frame (23 ms), like a Kling video generated with sound.
    Without it the bytes are exactly those of a video-only file.
    """
    _check_video_args(width, height, frames, fps)
    entry = _avc1(width, height, h264.sps(width, height, fps), h264.pps())
    samples = h264.frame_samples(width, height, frames)
    sizes = [len(s) for s in samples]
    audio_frames = (
        frame_count(frames / fps, aac.SAMPLE_RATE, aac.SAMPLES_PER_FRAME) if with_audio else 0
    )
    ftyp = _ftyp()
    # moov sits before mdat so players can start without seeking ("fast start"). Its size
    # does not depend on the offset value, so a first pass with 0 measures it.
    moov = functools.partial(
        _moov, width=width, height=height, fps=fps, sample_sizes=sizes, entry=entry,
        audio_frames=audio_frames,
    )  # fmt: skip
    mdat_payload_offset = len(ftyp) + len(moov(chunk_offset=0)) + 8
    mdat = _box(b"mdat", *samples, aac.SILENT_FRAME * audio_frames)
    return ftyp + moov(chunk_offset=mdat_payload_offset) + mdat
