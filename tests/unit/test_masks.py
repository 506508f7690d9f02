"""Selection masks and their COCO RLE / PNG encodings."""

from __future__ import annotations

import base64
import random
import struct
import zlib

import pytest

from kling_gateway.simulator.masks import (
    coco_rle_counts,
    decode_coco_rle,
    mask_payload,
    selection_mask,
)

# --------------------------------------------------------------------------------------
# COCO RLE encoding, pinned by hand-derived vectors
# --------------------------------------------------------------------------------------


def test_known_vector_3x2():
    # Rows (width 3, height 2):  0 1 1 / 0 0 1.
    # Column-major walk: col0 = 0 0, col1 = 1 0, col2 = 1 1  ->  0 0 1 0 1 1
    # Runs, zeros first: [2, 1, 1, 2]; the 4th is stored as 2 - counts[1] = 1.
    # Each value is < 16 and non-negative, so one character each: chr(48 + v).
    mask = bytes([0, 1, 1, 0, 0, 1])
    assert coco_rle_counts(mask, 3, 2) == "2111"
    assert decode_coco_rle("2111", 3, 2) == mask


def test_known_vector_negative_difference():
    # A single row, so column-major order is just left to right:
    # 0 | 1 1 1 1 1 | 0 0 | 1 1 1  ->  runs [1, 5, 2, 3].
    # The 4th is stored as 3 - 5 = -2: low five bits 0b11110 = 30, sign bit set and the
    # remaining value is -1, so it stops there: chr(48 + 30) = "N".
    mask = bytes([0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1])
    assert coco_rle_counts(mask, 11, 1) == "152N"
    assert decode_coco_rle("152N", 11, 1) == mask


def test_known_vector_multi_character_count():
    # 40 zeros then 1 one: 40 = 0b1_01000 -> low group 8 with the continue bit (8 + 32),
    # then 1: chr(48 + 40) + chr(48 + 1) = "X1", followed by "1" for the single one.
    mask = bytes(40) + b"\x01"
    assert coco_rle_counts(mask, 1, 41) == "X11"
    assert decode_coco_rle("X11", 1, 41) == mask


def test_mask_starting_with_one_has_empty_zero_run():
    assert coco_rle_counts(b"\x01\x00", 2, 1) == "011"


def test_nonzero_values_count_as_inside():
    assert coco_rle_counts(bytes([0, 255, 255, 0, 0, 255]), 3, 2) == "2111"


@pytest.mark.parametrize(("width", "height"), [(1, 1), (5, 3), (3, 5), (32, 32), (97, 41)])
@pytest.mark.parametrize("density", [0.02, 0.5, 0.97])
def test_round_trip_random_masks(width, height, density):
    rng = random.Random(f"{width}x{height}@{density}")
    for _ in range(5):
        mask = bytes(int(rng.random() < density) for _ in range(width * height))
        assert decode_coco_rle(coco_rle_counts(mask, width, height), width, height) == mask


def test_round_trip_long_runs():
    # Runs in the thousands need several characters and large differences.
    width, height = 300, 200
    mask = selection_mask(width, height, [(0.5, 0.5), (0.1, 0.9)])
    assert decode_coco_rle(coco_rle_counts(mask, width, height), width, height) == mask


def test_decode_rejects_bad_input():
    with pytest.raises(ValueError, match="do not describe"):
        decode_coco_rle("2111", 4, 2)  # counts cover 6 pixels, not 8
    with pytest.raises(ValueError, match="ends in the middle"):
        decode_coco_rle("X", 1, 8)  # ends on a continuation character
    with pytest.raises(ValueError, match="invalid RLE character"):
        decode_coco_rle("2 11", 3, 2)  # space is outside the alphabet


def test_encode_rejects_wrong_length():
    with pytest.raises(ValueError, match="expected 6 mask values"):
        coco_rle_counts(bytes(5), 3, 2)


# --------------------------------------------------------------------------------------
# Selection discs
# --------------------------------------------------------------------------------------


def pixel_under(x: float, y: float, width: int, height: int) -> int:
    col = min(int(x * width), width - 1)
    row = min(int(y * height), height - 1)
    return row * width + col


@pytest.mark.parametrize(("width", "height"), [(1, 1), (8, 8), (64, 48), (33, 100)])
def test_disc_covers_pixel_under_each_point(width, height):
    points = [(0.0, 0.0), (1.0, 1.0), (0.5, 0.5), (0.13, 0.87), (1.0, 0.0)]
    mask = selection_mask(width, height, points)
    assert set(mask) <= {0, 1}
    for x, y in points:
        assert mask[pixel_under(x, y, width, height)] == 1


def test_disc_radius_is_an_eighth_of_the_short_side():
    width, height = 160, 80  # radius 10 pixels around (80, 40)
    mask = selection_mask(width, height, [(0.5, 0.5)])
    row = mask[40 * width : 41 * width]
    assert 18 <= sum(row) <= 21
    assert mask[40 * width + 80 + 12] == 0
    assert mask[(40 + 12) * width + 80] == 0
    assert mask[0] == 0


def test_no_points_gives_empty_mask():
    assert selection_mask(20, 10, []) == bytes(200)


@pytest.mark.parametrize("point", [(-0.1, 0.5), (0.5, 1.5), (float("nan"), 0.5)])
def test_points_outside_frame_are_rejected(point):
    with pytest.raises(ValueError, match="fractions in"):
        selection_mask(10, 10, [point])


# --------------------------------------------------------------------------------------
# Payload
# --------------------------------------------------------------------------------------


def test_payload_shapes_and_contents():
    width, height, points = 40, 24, [(0.25, 0.5)]
    payload = mask_payload(width, height, points)
    assert set(payload) == {"rle_mask", "png_mask"}
    assert payload["rle_mask"]["size"] == [height, width]
    assert payload["png_mask"]["size"] == [height, width]
    mask = selection_mask(width, height, points)
    assert decode_coco_rle(payload["rle_mask"]["counts"], width, height) == mask

    encoded = payload["png_mask"]["base64"]
    assert not encoded.startswith("data:")
    png = base64.b64decode(encoded, validate=True)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    png_width, png_height, depth, color_type = struct.unpack_from(">IIBB", png, 16)
    assert (png_width, png_height, depth, color_type) == (width, height, 8, 0)
    # Recover the pixels: the first IDAT follows IHDR (8 + 25 bytes into the file).
    (idat_len,) = struct.unpack_from(">I", png, 33)
    assert png[37:41] == b"IDAT"
    raw = zlib.decompress(png[41 : 41 + idat_len])
    rows = [raw[y * (width + 1) + 1 : (y + 1) * (width + 1)] for y in range(height)]
    assert b"".join(rows) == bytes(255 if v else 0 for v in mask)


def test_payload_without_points_is_empty():
    # 21 = 0b10101 sets the sign bit of its five-bit group, so a positive 21 needs a
    # continuation character: chr(48 + 21 + 32) = "e", then chr(48 + 0) = "0".
    payload = mask_payload(7, 3, [])
    assert payload["rle_mask"]["counts"] == "e0"
    assert decode_coco_rle("e0", 7, 3) == bytes(21)
