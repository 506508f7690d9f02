"""The simulator's generated PNG and MP4 files are structurally valid and self-consistent."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from fractions import Fraction
from pathlib import Path

import pytest

from kling_gateway.simulator.media import mp4_bytes, png_bytes, png_grayscale_mask

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# --------------------------------------------------------------------------------------
# PNG helpers
# --------------------------------------------------------------------------------------


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Split a PNG into (type, data) chunks, asserting each chunk's CRC."""
    assert data[:8] == PNG_SIGNATURE
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        pos += 12 + length
    assert pos == len(data)
    return chunks


def png_pixels(data: bytes) -> tuple[int, int, int, bytes]:
    """Return width, height, colour type and the decompressed IDAT stream."""
    chunks = png_chunks(data)
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR"
    assert kinds[-1] == b"IEND"
    assert b"IDAT" in kinds
    width, height, depth, color_type, *_ = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    return width, height, color_type, raw


# --------------------------------------------------------------------------------------
# PNG tests
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), [(1, 1), (64, 32), (17, 103)])
@pytest.mark.parametrize("gradient", [False, True])
def test_png_rgb_structure(width, height, gradient):
    data = png_bytes(width, height, (10, 200, 30), gradient=gradient)
    assert data.startswith(PNG_SIGNATURE)
    w, h, color_type, raw = png_pixels(data)
    assert (w, h, color_type) == (width, height, 2)
    # One filter byte plus three bytes per pixel on every row.
    assert len(raw) == height * (1 + 3 * width)


def test_png_solid_colour_pixels():
    _, _, _, raw = png_pixels(png_bytes(3, 2, (1, 2, 3)))
    assert raw == (b"\x00" + bytes([1, 2, 3]) * 3) * 2


def test_png_gradient_ramps_to_colour():
    _, _, _, raw = png_pixels(png_bytes(4, 1, (200, 100, 40), gradient=True))
    row = raw[1:]
    assert row[-3:] == bytes([200, 100, 40])
    reds = row[0::3]
    assert list(reds) == sorted(reds)
    assert reds[0] < reds[-1]


def test_png_is_deterministic_and_cached():
    assert png_bytes(8, 8) is png_bytes(8, 8)
    png_bytes.cache_clear()
    first = png_bytes(8, 8)
    png_bytes.cache_clear()
    assert png_bytes(8, 8) == first


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((0, 4), {}), ((4, -1), {}), ((4, 4, (0, 0, 256)), {}), ((4, 4, (0, 0)), {})],
)
def test_png_rejects_bad_arguments(args, kwargs):
    with pytest.raises(ValueError, match="must be"):
        png_bytes(*args, **kwargs)


def test_grayscale_mask_png():
    pixels = bytes([0, 255, 255, 0, 0, 255])
    w, h, color_type, raw = png_pixels(png_grayscale_mask(3, 2, pixels))
    assert (w, h, color_type) == (3, 2, 0)
    assert len(raw) == 2 * (1 + 3)
    assert raw == b"\x00" + pixels[:3] + b"\x00" + pixels[3:]


def test_grayscale_mask_rejects_wrong_length():
    with pytest.raises(ValueError, match="expected 6 pixels"):
        png_grayscale_mask(3, 2, bytes(5))


# --------------------------------------------------------------------------------------
# MP4 helpers
# --------------------------------------------------------------------------------------

# Boxes whose payload is nothing but child boxes, and those with a fixed header first.
CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"dinf", b"stbl"}
HEADER_THEN_CHILDREN = {b"stsd": 8, b"dref": 8, b"avc1": 78}


class Box:
    def __init__(self, kind: bytes, payload: bytes, offset: int) -> None:
        self.kind, self.payload, self.offset = kind, payload, offset
        skip = HEADER_THEN_CHILDREN.get(kind, 0 if kind in CONTAINERS else None)
        self.children = parse_boxes(payload[skip:], offset + 8 + skip) if skip is not None else []

    def child(self, kind: bytes) -> Box:
        matches = [box for box in self.children if box.kind == kind]
        assert len(matches) == 1, f"expected one {kind!r} in {self.kind!r}"
        return matches[0]

    def path(self, *kinds: bytes) -> Box:
        box = self
        for kind in kinds:
            box = box.child(kind)
        return box


def parse_boxes(data: bytes, base: int = 0) -> list[Box]:
    boxes, pos = [], 0
    while pos < len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        assert 8 <= size <= len(data) - pos, f"box {kind!r} overruns its parent"
        boxes.append(Box(kind, data[pos + 8 : pos + size], base + pos))
        pos += size
    return boxes


def top_level(data: bytes) -> dict[bytes, Box]:
    boxes = parse_boxes(data)
    assert [box.kind for box in boxes] == [b"ftyp", b"moov", b"mdat"]
    return {box.kind: box for box in boxes}


def stbl_of(data: bytes) -> Box:
    return top_level(data)[b"moov"].path(b"trak", b"mdia", b"minf", b"stbl")


def sample_sizes(stbl: Box) -> list[int]:
    _, default_size, count = struct.unpack_from(">III", stbl.child(b"stsz").payload)
    assert default_size == 0
    return list(struct.unpack_from(f">{count}I", stbl.child(b"stsz").payload, 12))


# --------------------------------------------------------------------------------------
# MP4 tests
# --------------------------------------------------------------------------------------

VIDEO_CASES = [(64, 64, 24, 24), (16, 16, 1, 1), (176, 144, 30, 30), (48, 32, 10, 7)]


@pytest.mark.parametrize(("width", "height", "frames", "fps"), VIDEO_CASES)
def test_mp4_box_tree(width, height, frames, fps):
    boxes = top_level(mp4_bytes(width, height, frames, fps))
    assert boxes[b"ftyp"].payload[:4] == b"isom"
    trak = boxes[b"moov"].path(b"trak")
    assert [b.kind for b in boxes[b"moov"].children] == [b"mvhd", b"trak"]
    assert [b.kind for b in trak.children] == [b"tkhd", b"mdia"]
    assert [b.kind for b in trak.child(b"mdia").children] == [b"mdhd", b"hdlr", b"minf"]
    minf = trak.path(b"mdia", b"minf")
    assert [b.kind for b in minf.children] == [b"vmhd", b"dinf", b"stbl"]
    assert minf.path(b"dinf", b"dref").children[0].kind == b"url "
    stbl = minf.child(b"stbl")
    assert [b.kind for b in stbl.children] == [
        b"stsd", b"stts", b"stsc", b"stsz", b"stco", b"stss"
    ]  # fmt: skip
    assert trak.path(b"mdia", b"hdlr").payload[8:12] == b"vide"
    avc1 = stbl.path(b"stsd", b"avc1")
    assert struct.unpack_from(">HH", avc1.payload, 24) == (width, height)
    tkhd = trak.child(b"tkhd").payload
    assert struct.unpack_from(">II", tkhd, len(tkhd) - 8) == (width << 16, height << 16)


@pytest.mark.parametrize(("width", "height", "frames", "fps"), VIDEO_CASES)
def test_mp4_duration_is_frames_over_fps(width, height, frames, fps):
    moov = top_level(mp4_bytes(width, height, frames, fps))[b"moov"]
    timescale, duration = struct.unpack_from(">II", moov.child(b"mvhd").payload, 12)
    assert Fraction(duration, timescale) == Fraction(frames, fps)
    mdhd = moov.path(b"trak", b"mdia", b"mdhd").payload
    media_timescale, media_duration = struct.unpack_from(">II", mdhd, 12)
    assert Fraction(media_duration, media_timescale) == Fraction(frames, fps)
    stts = moov.path(b"trak", b"mdia", b"minf", b"stbl", b"stts").payload
    assert struct.unpack_from(">III", stts, 4) == (1, frames, media_duration // frames)


@pytest.mark.parametrize(("width", "height", "frames", "fps"), VIDEO_CASES)
def test_mp4_samples_fill_mdat(width, height, frames, fps):
    data = mp4_bytes(width, height, frames, fps)
    boxes = top_level(data)
    stbl = stbl_of(data)
    sizes = sample_sizes(stbl)
    assert len(sizes) == frames
    assert sum(sizes) == len(boxes[b"mdat"].payload)
    # One chunk holding every sample, starting right at the mdat payload.
    assert struct.unpack_from(">IIII", stbl.child(b"stsc").payload, 4) == (1, 1, frames, 1)
    assert struct.unpack_from(">II", stbl.child(b"stco").payload, 4) == (
        1,
        boxes[b"mdat"].offset + 8,
    )
    assert struct.unpack_from(">II", stbl.child(b"stss").payload, 4) == (1, 1)


def nal_units(sample: bytes) -> list[bytes]:
    """Split a sample of 4-byte-length-prefixed NAL units."""
    nals, pos = [], 0
    while pos < len(sample):
        (length,) = struct.unpack_from(">I", sample, pos)
        nals.append(sample[pos + 4 : pos + 4 + length])
        pos += 4 + length
    assert pos == len(sample)
    return nals


def test_mp4_h264_stream_shape():
    width, height, frames = 64, 48, 5
    data = mp4_bytes(width, height, frames, 24)
    mdat = top_level(data)[b"mdat"].payload
    samples, pos = [], 0
    for size in sample_sizes(stbl_of(data)):
        samples.append(mdat[pos : pos + size])
        pos += size
    nal_types = [[nal[0] & 0x1F for nal in nal_units(s)] for s in samples]
    assert nal_types == [[5]] + [[1]] * (frames - 1)  # IDR first, then non-IDR slices
    # Raw I_PCM samples: the IDR must be at least one byte per luma and chroma sample.
    assert len(samples[0]) > width * height * 3 // 2
    for sample in samples:
        for nal in nal_units(sample):
            # Emulation prevention: no start-code prefix may appear inside a NAL unit.
            assert not re.search(b"\x00\x00[\x00-\x02]", nal)
            assert nal[-1] != 0


def test_mp4_avcc_matches_baseline_sps():
    avc1 = stbl_of(mp4_bytes()).path(b"stsd", b"avc1")
    avcc = avc1.child(b"avcC").payload
    version, profile, _compat, level, length_size, sps_count = avcc[:6]
    assert (version, profile) == (1, 66)  # Baseline
    assert length_size & 0x03 == 3  # 4-byte NAL lengths, as mdat uses
    assert sps_count & 0x1F == 1
    (sps_len,) = struct.unpack_from(">H", avcc, 6)
    sps = avcc[8 : 8 + sps_len]
    assert sps[0] & 0x1F == 7
    assert sps[1:4] == avcc[1:4]
    assert level == sps[3]
    pps_count = avcc[8 + sps_len]
    (pps_len,) = struct.unpack_from(">H", avcc, 9 + sps_len)
    assert pps_count == 1
    assert avcc[11 + sps_len] & 0x1F == 8
    assert len(avcc) == 11 + sps_len + pps_len


def test_mp4_is_deterministic_and_cached():
    assert mp4_bytes() is mp4_bytes()
    mp4_bytes.cache_clear()
    first = mp4_bytes()
    mp4_bytes.cache_clear()
    assert mp4_bytes() == first


@pytest.mark.parametrize(
    ("width", "height", "frames", "fps"),
    [(0, 16, 1, 1), (20, 16, 1, 1), (16, 15, 1, 1), (16, 16, 0, 1), (16, 16, 1, 0)],
)
def test_mp4_rejects_bad_arguments(width, height, frames, fps):
    with pytest.raises(ValueError, match="must be"):
        mp4_bytes(width, height, frames, fps)


@pytest.mark.parametrize(("width", "height", "frames", "fps"), VIDEO_CASES)
def test_mp4_decodes_with_ffprobe(tmp_path: Path, width, height, frames, fps):
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        pytest.skip("ffprobe is not installed; the structural tests above still ran")
    path = tmp_path / "clip.mp4"
    path.write_bytes(mp4_bytes(width, height, frames, fps))
    # -count_frames decodes every frame, so decoder errors surface on stderr.
    result = subprocess.run(
        [
            ffprobe, "-v", "error", "-count_frames", "-select_streams", "v:0",
            "-show_entries", "stream=codec_name,width,height,nb_read_frames",
            "-of", "default=noprint_wrappers=1", str(path),
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    fields = dict(line.split("=", 1) for line in result.stdout.split())
    assert fields == {
        "codec_name": "h264",
        "width": str(width),
        "height": str(height),
        "nb_read_frames": str(frames),
    }
