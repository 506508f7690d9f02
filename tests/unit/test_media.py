"""The simulator's generated PNG, MP4, MP3 and WAV files are structurally valid and consistent."""

from __future__ import annotations

import hashlib
import io
import itertools
import math
import re
import shutil
import struct
import subprocess
import wave
import zlib
from fractions import Fraction
from pathlib import Path

import pytest

from kling_gateway.simulator.media import (
    mp3_bytes,
    mp4_bytes,
    png_bytes,
    png_grayscale_mask,
    wav_bytes,
)
from kling_gateway.simulator.media.aac import SILENT_FRAME

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
HEADER_THEN_CHILDREN = {b"stsd": 8, b"dref": 8, b"avc1": 78, b"mp4a": 28}


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


def ffprobe_fully(path: Path, *args: str) -> str:
    """Run ffprobe decoding every frame (-count_frames), so decoder errors reach stderr."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        pytest.skip("ffprobe is not installed; the structural tests above still ran")
    result = subprocess.run(
        [ffprobe, "-v", "error", "-count_frames", *args, str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


@pytest.mark.parametrize(("width", "height", "frames", "fps"), VIDEO_CASES)
def test_mp4_decodes_with_ffprobe(tmp_path: Path, width, height, frames, fps):
    path = tmp_path / "clip.mp4"
    path.write_bytes(mp4_bytes(width, height, frames, fps))
    stdout = ffprobe_fully(
        path, "-select_streams", "v:0",
        "-show_entries", "stream=codec_name,width,height,nb_read_frames",
        "-of", "default=noprint_wrappers=1",
    )  # fmt: skip
    fields = dict(line.split("=", 1) for line in stdout.split())
    assert fields == {
        "codec_name": "h264",
        "width": str(width),
        "height": str(height),
        "nb_read_frames": str(frames),
    }


# --------------------------------------------------------------------------------------
# MP4 with a sound track
# --------------------------------------------------------------------------------------

# sha256 of the video-only files as they were before the sound track existed: ETags and
# cached results depend on these bytes, so adding audio must not change them.
VIDEO_ONLY_SHA256 = {
    (64, 64, 24, 24): "eee2215be6d8d3d8d3fc9541e88bccc3198338e52a25d51b9070c2df9b5b4026",
    (48, 32, 10, 7): "61f2a2e50fa242504a6b701d48bc6d2f1e3dd27e950ba3e80aa11b179072999e",
}
AAC_RATE, AAC_FRAME = 44100, 1024


@pytest.mark.parametrize(("args", "digest"), VIDEO_ONLY_SHA256.items())
def test_mp4_without_audio_is_byte_identical_to_before(args, digest):
    assert hashlib.sha256(mp4_bytes(*args)).hexdigest() == digest
    assert mp4_bytes(*args, with_audio=False) == mp4_bytes(*args)


def traks_by_handler(moov: Box) -> dict[bytes, Box]:
    traks = [box for box in moov.children if box.kind == b"trak"]
    return {trak.path(b"mdia", b"hdlr").payload[8:12]: trak for trak in traks}


def parse_descriptors(data: bytes) -> dict[int, bytes]:
    """Flatten MPEG-4 descriptors (one-byte lengths) into {tag: payload}, nested ones too."""
    found, pos = {}, 0
    while pos < len(data):
        tag, length = data[pos], data[pos + 1]
        assert length < 0x80
        body = data[pos + 2 : pos + 2 + length]
        assert len(body) == length, f"descriptor {tag:#x} overruns its parent"
        found[tag] = body
        # Children follow a fixed header: 3 bytes in ES (no flags set), 13 in DecoderConfig.
        if tag in (0x03, 0x04):
            found.update(parse_descriptors(body[3 if tag == 0x03 else 13 :]))
        pos += 2 + length
    return found


@pytest.mark.parametrize(("width", "height", "frames", "fps"), VIDEO_CASES)
def test_mp4_with_audio_box_tree(width, height, frames, fps):
    moov = top_level(mp4_bytes(width, height, frames, fps, with_audio=True))[b"moov"]
    assert [b.kind for b in moov.children] == [b"mvhd", b"trak", b"trak"]
    traks = traks_by_handler(moov)
    assert list(traks) == [b"vide", b"soun"]
    assert struct.unpack_from(">I", moov.child(b"mvhd").payload, 96)[0] == 3  # next_track_ID
    for track_id, trak in enumerate(traks.values(), start=1):
        assert struct.unpack_from(">I", trak.child(b"tkhd").payload, 12)[0] == track_id
    sound = traks[b"soun"]
    tkhd = sound.child(b"tkhd").payload
    assert struct.unpack_from(">H", tkhd, 36)[0] == 0x0100  # full volume
    assert struct.unpack_from(">II", tkhd, len(tkhd) - 8) == (0, 0)  # no picture size
    minf = sound.path(b"mdia", b"minf")
    assert [b.kind for b in minf.children] == [b"smhd", b"dinf", b"stbl"]
    stbl = minf.child(b"stbl")
    assert [b.kind for b in stbl.children] == [b"stsd", b"stts", b"stsc", b"stsz", b"stco"]
    # The video track is the one a video-only file has, but for where its chunk starts.
    video_only = top_level(mp4_bytes(width, height, frames, fps))[b"moov"].child(b"trak")
    for kinds in [(b"tkhd",), (b"mdia", b"mdhd"), (b"mdia", b"hdlr"), (b"mdia", b"minf", b"vmhd")]:
        assert traks[b"vide"].path(*kinds).payload == video_only.path(*kinds).payload
    stbls = [trak.path(b"mdia", b"minf", b"stbl") for trak in (traks[b"vide"], video_only)]
    assert [b.kind for b in stbls[0].children] == [b.kind for b in stbls[1].children]
    for with_sound, alone in zip(stbls[0].children, stbls[1].children, strict=True):
        assert (with_sound.payload == alone.payload) == (alone.kind != b"stco")


def test_mp4_audio_sample_entry_is_aac_lc_44k_mono():
    stsd = traks_by_handler(top_level(mp4_bytes(with_audio=True))[b"moov"])[b"soun"].path(
        b"mdia", b"minf", b"stbl", b"stsd"
    )
    mp4a = stsd.child(b"mp4a")
    channels, sample_size, _, _, rate = struct.unpack_from(">HHHHI", mp4a.payload, 16)
    assert (channels, sample_size, rate) == (1, 16, AAC_RATE << 16)
    esds = mp4a.child(b"esds").payload
    assert esds[:4] == bytes(4)  # version 0, no flags
    descriptors = parse_descriptors(esds[4:])
    assert sorted(descriptors) == [0x03, 0x04, 0x05, 0x06]
    assert descriptors[0x04][:2] == bytes([0x40, 0x15])  # MPEG-4 audio, audio stream
    # AudioSpecificConfig: object type 2 (AAC-LC), frequency index 4 (44.1 kHz), 1 channel.
    config = int.from_bytes(descriptors[0x05], "big")
    assert (config >> 11, (config >> 7) & 0xF, (config >> 3) & 0xF) == (2, 4, 1)
    assert descriptors[0x05] == b"\x12\x08"
    assert descriptors[0x06] == b"\x02"


@pytest.mark.parametrize(("width", "height", "frames", "fps"), VIDEO_CASES)
def test_mp4_audio_durations_agree(width, height, frames, fps):
    moov = top_level(mp4_bytes(width, height, frames, fps, with_audio=True))[b"moov"]
    sound = traks_by_handler(moov)[b"soun"]
    timescale, media_duration = struct.unpack_from(">II", sound.path(b"mdia", b"mdhd").payload, 12)
    assert timescale == AAC_RATE
    aac_frames = round(Fraction(frames, fps) * AAC_RATE / AAC_FRAME)
    assert media_duration == aac_frames * AAC_FRAME
    # The sound is as long as the video to the nearest AAC frame.
    assert abs(Fraction(media_duration, AAC_RATE) - Fraction(frames, fps)) <= Fraction(
        AAC_FRAME, 2 * AAC_RATE
    )
    stbl = sound.path(b"mdia", b"minf", b"stbl")
    assert struct.unpack_from(">III", stbl.child(b"stts").payload, 4) == (1, aac_frames, AAC_FRAME)
    assert sample_sizes(stbl) == [len(SILENT_FRAME)] * aac_frames
    # Movie and track headers use the movie timescale; the movie covers both tracks.
    movie_timescale, movie_duration = struct.unpack_from(">II", moov.child(b"mvhd").payload, 12)
    track_durations = [
        struct.unpack_from(">I", trak.child(b"tkhd").payload, 20)[0]
        for trak in traks_by_handler(moov).values()
    ]
    assert movie_duration == max(track_durations)
    assert Fraction(track_durations[0], movie_timescale) == Fraction(frames, fps)
    sound_seconds = Fraction(media_duration, AAC_RATE)
    assert Fraction(track_durations[1], movie_timescale) >= sound_seconds
    assert Fraction(track_durations[1] - 1, movie_timescale) < sound_seconds


@pytest.mark.parametrize(("width", "height", "frames", "fps"), VIDEO_CASES)
def test_mp4_audio_samples_follow_video_in_mdat(width, height, frames, fps):
    data = mp4_bytes(width, height, frames, fps, with_audio=True)
    boxes = top_level(data)
    mdat = boxes[b"mdat"]
    stbls = [
        trak.path(b"mdia", b"minf", b"stbl") for trak in traks_by_handler(boxes[b"moov"]).values()
    ]
    video_sizes, audio_sizes = (sample_sizes(stbl) for stbl in stbls)
    assert sum(video_sizes) + sum(audio_sizes) == len(mdat.payload)
    offsets = [struct.unpack_from(">II", stbl.child(b"stco").payload, 4) for stbl in stbls]
    assert offsets == [(1, mdat.offset + 8), (1, mdat.offset + 8 + sum(video_sizes))]
    stsc = struct.unpack_from(">IIII", stbls[1].child(b"stsc").payload, 4)
    assert stsc == (1, 1, len(audio_sizes), 1)
    audio = data[offsets[1][1] : offsets[1][1] + sum(audio_sizes)]
    assert audio == SILENT_FRAME * len(audio_sizes)


def test_mp4_with_audio_is_deterministic_and_cached():
    assert mp4_bytes(with_audio=True) is mp4_bytes(with_audio=True)
    first = mp4_bytes(with_audio=True)
    mp4_bytes.cache_clear()
    assert mp4_bytes(with_audio=True) == first


@pytest.mark.parametrize(("width", "height", "frames", "fps"), VIDEO_CASES)
def test_mp4_with_audio_decodes_with_ffprobe(tmp_path: Path, width, height, frames, fps):
    path = tmp_path / "clip.mp4"
    path.write_bytes(mp4_bytes(width, height, frames, fps, with_audio=True))
    stdout = ffprobe_fully(
        path, "-show_entries", "stream=codec_type,codec_name,sample_rate,channels,nb_read_frames",
        "-of", "csv=p=0",
    )  # fmt: skip
    aac_frames = round(Fraction(frames, fps) * AAC_RATE / AAC_FRAME)
    assert stdout.split() == [
        f"h264,video,{frames}",
        f"aac,audio,{AAC_RATE},1,{aac_frames}",
    ]


# --------------------------------------------------------------------------------------
# WAV
# --------------------------------------------------------------------------------------

WAV_CASES = [(5.0, 16000), (0.5, 44100), (3.3, 8000), (10.0, 48000), (0.00001, 16000)]


def wav_pcm(data: bytes) -> tuple[wave._wave_params, list[int]]:
    with wave.open(io.BytesIO(data), "rb") as wav:
        params = wav.getparams()
        frames = wav.readframes(params.nframes)
    assert len(frames) == params.nframes * 2, "data chunk shorter than its frame count"
    return params, list(struct.unpack(f"<{params.nframes}h", frames))


@pytest.mark.parametrize(("seconds", "sample_rate"), WAV_CASES)
def test_wav_header_and_length(seconds, sample_rate):
    data = wav_bytes(seconds, sample_rate)
    assert data[:4] == b"RIFF"
    assert data[8:16] == b"WAVEfmt "
    assert struct.unpack_from("<I", data, 4)[0] == len(data) - 8  # RIFF size
    params, _ = wav_pcm(data)
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, sample_rate)
    assert params.comptype == "NONE"
    assert params.nframes == max(1, round(seconds * sample_rate))
    # Canonical layout: 44-byte header, then nothing but the samples.
    assert len(data) == 44 + 2 * params.nframes


def test_wav_is_a_quiet_tone():
    _, samples = wav_pcm(wav_bytes(1.0, 16000))
    assert samples[0] == 0  # starts at a zero crossing: no click
    assert 500 <= max(samples) <= 2000
    assert min(samples) == -max(samples)
    # 440 Hz becomes 444.4 Hz: a whole 36-sample period, so 444 or 445 rising zero crossings.
    rising = sum(1 for a, b in itertools.pairwise(samples) if a < 0 <= b)
    assert rising in (444, 445)


def test_wav_silence():
    _, samples = wav_pcm(wav_bytes(0.25, 16000, tone_hz=0))
    assert samples == [0] * 4000


def test_wav_is_deterministic_and_cached():
    assert wav_bytes(2.0) is wav_bytes(2.0)
    first = wav_bytes(2.0)
    wav_bytes.cache_clear()
    assert wav_bytes(2.0) == first


@pytest.mark.parametrize(
    "kwargs",
    [
        {"seconds": 0},
        {"seconds": -1},
        {"seconds": math.nan},
        {"seconds": math.inf},
        {"seconds": 1, "sample_rate": 0},
        {"seconds": 1, "tone_hz": 9000},
        {"seconds": 1, "tone_hz": -1},
    ],
)
def test_wav_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="must be"):
        wav_bytes(**kwargs)


# --------------------------------------------------------------------------------------
# MP3
# --------------------------------------------------------------------------------------

MP3_BITRATES_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
MP3_RATES = (44100, 48000, 32000)
MP3_FRAME = 1152


def mp3_frames(data: bytes) -> list[tuple[int, int, bytes]]:
    """Walk MPEG-1 Layer III frames; return (bitrate, sample rate, side info) for each."""
    frames, pos = [], 0
    while pos < len(data):
        (header,) = struct.unpack_from(">I", data, pos)
        assert header >> 21 == 0x7FF, f"no frame sync at byte {pos}"
        assert (header >> 19) & 3 == 3, "not MPEG-1"
        assert (header >> 17) & 3 == 1, "not Layer III"
        assert (header >> 16) & 1 == 1, "unexpected CRC"
        bitrate = MP3_BITRATES_KBPS[(header >> 12) & 0xF] * 1000
        assert bitrate, "free-format or bad bitrate index"
        rate = MP3_RATES[(header >> 10) & 3]
        padding = (header >> 9) & 1
        assert (header >> 6) & 3 == 3, "not mono"
        size = 144 * bitrate // rate + padding
        assert pos + size <= len(data), "last frame is cut short"
        frames.append((bitrate, rate, data[pos + 4 : pos + 4 + 17]))  # mono side info: 17 B
        pos += size
    return frames


@pytest.mark.parametrize("seconds", [5.0, 3.0, 10.0, 0.5, 7.3, 0.001])
def test_mp3_frames_are_valid_and_fill_the_duration(seconds):
    data = mp3_bytes(seconds)
    frames = mp3_frames(data)
    assert {(bitrate, rate) for bitrate, rate, _ in frames} == {(32000, 44100)}
    # Zero side info: no Huffman bits in any granule, which decodes as silence.
    assert {side for _, _, side in frames} == {bytes(17)}
    assert len(frames) == max(1, round(seconds * 44100 / MP3_FRAME))
    # Whole frames: the length is right to within half a frame (13 ms), or one frame at least.
    duration = len(frames) * MP3_FRAME / 44100
    assert abs(duration - seconds) <= MP3_FRAME / 2 / 44100 or len(frames) == 1


def test_mp3_average_bitrate_is_nominal():
    # Players estimate a plain CBR stream's length from bytes / bitrate; padding keeps it true.
    data = mp3_bytes(5.0)
    seconds = len(mp3_frames(data)) * MP3_FRAME / 44100
    assert abs(len(data) - seconds * 32000 / 8) < 1


def test_mp3_is_deterministic_and_cached():
    assert mp3_bytes(5.0) is mp3_bytes(5.0)
    first = mp3_bytes(5.0)
    mp3_bytes.cache_clear()
    assert mp3_bytes(5.0) == first


@pytest.mark.parametrize("seconds", [0, -2.5, math.nan, math.inf])
def test_mp3_rejects_bad_durations(seconds):
    with pytest.raises(ValueError, match="must be"):
        mp3_bytes(seconds)


@pytest.mark.parametrize(
    ("name", "codec", "frames"), [("clip.mp3", "mp3", "77"), ("clip.wav", "pcm_s16le", None)]
)
def test_audio_decodes_with_ffprobe(tmp_path: Path, name, codec, frames):
    path = tmp_path / name
    path.write_bytes(mp3_bytes(2.0) if name.endswith(".mp3") else wav_bytes(2.0))
    stdout = ffprobe_fully(
        path, "-select_streams", "a:0",
        "-show_entries", "stream=codec_name,channels,nb_read_frames",
        "-of", "default=noprint_wrappers=1",
    )  # fmt: skip
    fields = dict(line.split("=", 1) for line in stdout.split())
    assert (fields["codec_name"], fields["channels"]) == (codec, "1")
    if frames is not None:  # 2 s / (1152 / 44100 s) = 76.6, so 77 MP3 frames
        assert fields["nb_read_frames"] == frames
