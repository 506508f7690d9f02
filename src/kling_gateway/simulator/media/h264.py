"""A hand-written H.264 stream (Annex B syntax, written as length-prefixed NAL units for MP4).

One IDR picture made of I_PCM macroblocks (raw samples, so no transform or entropy coder is
needed) followed by P pictures in which every macroblock is skipped (each repeats the picture
before it).  It is tiny, but real decoders such as ffmpeg decode it without complaint.
"""

from __future__ import annotations

import re
import struct

MB = 16  # macroblock side in luma samples
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


def sps(width: int, height: int, fps: int) -> bytes:
    mb_w, mb_h = width // MB, height // MB
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


def pps() -> bytes:
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
    for mb_y in range(height // MB):
        for mb_x in range(width // MB):
            w.ue(_MB_TYPE_I_PCM)
            w.align_zero()  # pcm_alignment_zero_bit
            w.raw(_block(luma, mb_x * MB, mb_y * MB, MB))
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
    w.ue((width // MB) * (height // MB))  # mb_skip_run covering the whole picture
    return _nal(_NAL_NON_IDR_REF, w.trailing_bits())


def _length_prefixed(nal: bytes) -> bytes:
    return struct.pack(">I", len(nal)) + nal


def frame_samples(width: int, height: int, frames: int) -> list[bytes]:
    """One MP4 sample per frame, each a single 4-byte-length-prefixed NAL unit."""
    samples = [_length_prefixed(_idr_slice(width, height))]
    samples.extend(_length_prefixed(_skip_slice(width, height, i)) for i in range(1, frames))
    return samples
