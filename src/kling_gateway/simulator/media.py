"""Small, valid media files that the fake Kling service serves as task results.

Everything is built in memory with the standard library only, so the simulator needs no
codec, no image library and no files on disk.  Output is a pure function of the
arguments (no timestamps, no randomness): the same request always yields the same bytes,
which keeps tests and ETags stable and lets ``functools.lru_cache`` do the serving.

The MP4 carries a hand-written H.264 stream: one IDR picture made of I_PCM macroblocks
(raw samples, so no transform or entropy coder is needed) followed by P pictures in which
every macroblock is skipped (each repeats the picture before it).  It is tiny, but real
decoders such as ffmpeg decode it without complaint.
"""

from __future__ import annotations

import functools
import re
import struct
import zlib
from collections.abc import Iterable

__all__ = ["mp4_bytes", "png_bytes", "png_grayscale_mask"]

# --------------------------------------------------------------------------------------
# PNG
# --------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------
# H.264 (Annex B syntax, written as length-prefixed NAL units for MP4)
# --------------------------------------------------------------------------------------

_MB = 16  # macroblock side in luma samples
_LOG2_MAX_FRAME_NUM = 8  # frame_num wraps at 256; wrapping is legal, so any length works
_PROFILE_BASELINE = 66
# constraint_set0 and constraint_set1: the stream also obeys Main, i.e. it is
# "Constrained Baseline", the profile every decoder supports.
_CONSTRAINT_FLAGS = 0b1100_0000
_NAL_SPS = (3 << 5) | 7
_NAL_PPS = (3 << 5) | 8
_NAL_IDR = (3 << 5) | 5
_NAL_NON_IDR_REF = (2 << 5) | 1
_SLICE_P_ALL = 5  # slice_type 5..9 promise that every slice of the picture has this type
_SLICE_I_ALL = 7
_MB_TYPE_I_PCM = 25
_DEBLOCKING_OFF = 1

# (level_idc, MaxMBPS, MaxFS) from H.264 Table A-1, smallest first.
_LEVELS = (
    (10, 1485, 99),
    (11, 3000, 396),
    (12, 6000, 396),
    (13, 11880, 396),
    (21, 19800, 792),
    (22, 20250, 1620),
    (30, 40500, 1620),
    (31, 108000, 3600),
    (32, 216000, 5120),
    (40, 245760, 8192),
    (42, 522240, 8704),
    (50, 589824, 22080),
    (51, 983040, 36864),
    (52, 2073600, 36864),
)

# Three-byte patterns that NAL payloads must not contain (H.264 section 7.4.1).
_NEEDS_ESCAPE = re.compile(b"\x00\x00(?=[\x00-\x03])")


class _BitWriter:
    """MSB-first bit writer with the Exp-Golomb codes the H.264 syntax uses."""

    def __init__(self) -> None:
        self._out = bytearray()
        self._acc = 0
        self._nbits = 0

    def u(self, nbits: int, value: int) -> None:
        self._acc = (self._acc << nbits) | value
        self._nbits += nbits
        while self._nbits >= 8:
            self._nbits -= 8
            self._out.append((self._acc >> self._nbits) & 0xFF)
        self._acc &= (1 << self._nbits) - 1

    def flag(self, value: bool) -> None:
        self.u(1, int(value))

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(code.bit_length() - 1, 0)
        self.u(code.bit_length(), code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def align_zero(self) -> None:
        if self._nbits:
            self.u(8 - self._nbits, 0)

    def raw(self, data: bytes) -> None:
        # Only used after an alignment, so the bytes can be copied without shifting.
        assert self._nbits == 0, "raw bytes need a byte-aligned writer"
        self._out += data

    def trailing_bits(self) -> bytes:
        """Write rbsp_trailing_bits (a one bit, then zeros to the byte) and return the RBSP."""
        self.u(1, 1)
        self.align_zero()
        return bytes(self._out)


def _nal(header: int, rbsp: bytes) -> bytes:
    # Emulation prevention keeps start-code-like byte runs out of the payload, which
    # decoders require even in length-prefixed (MP4) streams.
    return bytes([header]) + _NEEDS_ESCAPE.sub(b"\x00\x00\x03", rbsp)


def _level_idc(mbs_per_frame: int, fps: int) -> int:
    for level, max_mbps, max_fs in _LEVELS:
        if mbs_per_frame <= max_fs and mbs_per_frame * fps <= max_mbps:
            return level
    return _LEVELS[-1][0]


def _sps(width: int, height: int, fps: int) -> bytes:
    mb_w, mb_h = width // _MB, height // _MB
    w = _BitWriter()
    w.u(8, _PROFILE_BASELINE)
    w.u(8, _CONSTRAINT_FLAGS)
    w.u(8, _level_idc(mb_w * mb_h, fps))
    w.ue(0)  # seq_parameter_set_id
    w.ue(_LOG2_MAX_FRAME_NUM - 4)
    w.ue(2)  # pic_order_cnt_type 2: output order is decode order, nothing to signal
    w.ue(1)  # max_num_ref_frames: each P picture only looks at the one before
    w.flag(False)  # gaps_in_frame_num_value_allowed_flag
    w.ue(mb_w - 1)
    w.ue(mb_h - 1)
    w.flag(True)  # frame_mbs_only_flag: progressive frames, no field syntax
    w.flag(True)  # direct_8x8_inference_flag
    w.flag(False)  # frame_cropping_flag: sizes are whole macroblocks
    w.flag(True)  # vui_parameters_present_flag
    _write_vui_timing(w, fps)
    return _nal(_NAL_SPS, w.trailing_bits())


def _write_vui_timing(w: _BitWriter, fps: int) -> None:
    # Only timing is signalled, so a bare elementary stream still plays at the right rate.
    for _ in range(4):  # aspect ratio, overscan, video signal type, chroma location
        w.flag(False)
    w.flag(True)  # timing_info_present_flag
    w.u(32, 1)  # num_units_in_tick
    w.u(32, 2 * fps)  # time_scale: one frame lasts two ticks in H.264's field-based clock
    w.flag(True)  # fixed_frame_rate_flag
    for _ in range(4):  # nal hrd, vcl hrd, pic_struct_present, bitstream_restriction
        w.flag(False)


def _pps() -> bytes:
    w = _BitWriter()
    w.ue(0)  # pic_parameter_set_id
    w.ue(0)  # seq_parameter_set_id
    w.flag(False)  # entropy_coding_mode_flag: CAVLC, the only Baseline entropy coder
    w.flag(False)  # bottom_field_pic_order_in_frame_present_flag
    w.ue(0)  # num_slice_groups_minus1
    w.ue(0)  # num_ref_idx_l0_default_active_minus1
    w.ue(0)  # num_ref_idx_l1_default_active_minus1
    w.flag(False)  # weighted_pred_flag
    w.u(2, 0)  # weighted_bipred_idc
    w.se(0)  # pic_init_qp_minus26
    w.se(0)  # pic_init_qs_minus26
    w.se(0)  # chroma_qp_index_offset
    w.flag(True)  # deblocking_filter_control_present_flag: lets slices turn it off
    w.flag(False)  # constrained_intra_pred_flag
    w.flag(False)  # redundant_pic_cnt_present_flag
    return _nal(_NAL_PPS, w.trailing_bits())


def _plane(width: int, height: int, value_at: tuple[int, int, int]) -> list[bytes]:
    """Rows of a plane whose value ramps linearly with (ax * x + ay * y) / scale."""
    ax, ay, scale = value_at
    # Video ("limited") range 16..235 keeps samples away from 0, which early revisions of
    # the standard forbade in PCM samples; it also spares the payload escape bytes.
    return [
        bytes(16 + 219 * (ax * x + ay * y) // scale for x in range(width)) for y in range(height)
    ]


def _picture_planes(width: int, height: int) -> tuple[list[bytes], list[bytes], list[bytes]]:
    # A diagonal luma ramp with chroma ramping across and down gives a colourful still
    # that makes a wrong sample order obvious when someone looks at a decoded frame.
    cw, ch = width // 2, height // 2
    luma = _plane(width, height, (1, 1, width + height - 2 or 1))
    cb = _plane(cw, ch, (1, 0, max(cw - 1, 1)))
    cr = _plane(cw, ch, (0, 1, max(ch - 1, 1)))
    return luma, cb, cr


def _block(plane: list[bytes], x0: int, y0: int, size: int) -> bytes:
    return b"".join(row[x0 : x0 + size] for row in plane[y0 : y0 + size])


def _idr_slice(width: int, height: int) -> bytes:
    w = _BitWriter()
    w.ue(0)  # first_mb_in_slice
    w.ue(_SLICE_I_ALL)
    w.ue(0)  # pic_parameter_set_id
    w.u(_LOG2_MAX_FRAME_NUM, 0)  # frame_num
    w.ue(0)  # idr_pic_id
    w.flag(False)  # no_output_of_prior_pics_flag
    w.flag(False)  # long_term_reference_flag
    w.se(0)  # slice_qp_delta
    w.ue(_DEBLOCKING_OFF)
    luma, cb, cr = _picture_planes(width, height)
    for mb_y in range(height // _MB):
        for mb_x in range(width // _MB):
            w.ue(_MB_TYPE_I_PCM)
            w.align_zero()  # pcm_alignment_zero_bit
            w.raw(_block(luma, mb_x * _MB, mb_y * _MB, _MB))
            w.raw(_block(cb, mb_x * 8, mb_y * 8, 8))
            w.raw(_block(cr, mb_x * 8, mb_y * 8, 8))
    return _nal(_NAL_IDR, w.trailing_bits())


def _skip_slice(width: int, height: int, frame_index: int) -> bytes:
    w = _BitWriter()
    w.ue(0)  # first_mb_in_slice
    w.ue(_SLICE_P_ALL)
    w.ue(0)  # pic_parameter_set_id
    # Every picture is a reference, so frame_num counts up by one (modulo its range).
    w.u(_LOG2_MAX_FRAME_NUM, frame_index % (1 << _LOG2_MAX_FRAME_NUM))
    w.flag(False)  # num_ref_idx_active_override_flag
    w.flag(False)  # ref_pic_list_modification_flag_l0
    w.flag(False)  # adaptive_ref_pic_marking_mode_flag: plain sliding window
    w.se(0)  # slice_qp_delta
    w.ue(_DEBLOCKING_OFF)
    w.ue((width // _MB) * (height // _MB))  # mb_skip_run covering the whole picture
    return _nal(_NAL_NON_IDR_REF, w.trailing_bits())


def _length_prefixed(nal: bytes) -> bytes:
    return struct.pack(">I", len(nal)) + nal


def _h264_samples(width: int, height: int, frames: int) -> list[bytes]:
    """One MP4 sample per frame, each a single 4-byte-length-prefixed NAL unit."""
    samples = [_length_prefixed(_idr_slice(width, height))]
    samples.extend(_length_prefixed(_skip_slice(width, height, i)) for i in range(1, frames))
    return samples


# --------------------------------------------------------------------------------------
# MP4 (ISO BMFF) container
# --------------------------------------------------------------------------------------

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
        if value < _MB or value % _MB:
            raise ValueError(f"{name} must be a positive multiple of {_MB}, got {value}")
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    if fps < 1:
        raise ValueError(f"fps must be at least 1, got {fps}")


@functools.lru_cache(maxsize=16)
def mp4_bytes(width: int = 64, height: int = 64, frames: int = 24, fps: int = 24) -> bytes:
    """Return a decodable H.264 MP4 of ``frames`` frames at ``fps`` (``frames / fps`` s)."""
    _check_video_args(width, height, frames, fps)
    entry = _stsd(width, height, _sps(width, height, fps), _pps())
    samples = _h264_samples(width, height, frames)
    sizes = [len(s) for s in samples]
    ftyp = _ftyp()
    # moov sits before mdat so players can start without seeking ("fast start"). Its size
    # does not depend on the offset value, so a first pass with 0 measures it.
    moov = functools.partial(
        _moov, width=width, height=height, fps=fps, sample_sizes=sizes, entry=entry
    )
    mdat_payload_offset = len(ftyp) + len(moov(chunk_offset=0)) + 8
    return ftyp + moov(chunk_offset=mdat_payload_offset) + _box(b"mdat", *samples)
