"""The default body limit admits the largest legitimate Kling request and little more."""

from __future__ import annotations

import json

from kling_gateway.config import DEFAULT_MAX_BODY_BYTES, Settings

TEN_MIB = 10 * 2**20
IMAGE_CHARS = 4 * ((TEN_MIB + 2) // 3)  # Base64 of a 10 MiB file, padding included
PLACEHOLDER = "IMAGE"


def largest_image2video_size(*, escaped_slashes: bool) -> int:
    """image + static_mask + 6 dynamic masks (77 points each), both prompts at 2500 CJK
    characters escaped as \\uXXXX: the size of its JSON, without building 110 MB."""
    trajectory = [{"x": 1000 + i, "y": 1000 + i} for i in range(77)]
    body = {"model_name": "kling-v1", "mode": "pro", "duration": "5",
            "prompt": "猫" * 2500, "negative_prompt": "狗" * 2500, "cfg_scale": 0.5,
            "image": PLACEHOLDER, "static_mask": PLACEHOLDER,
            "dynamic_masks": [{"mask": PLACEHOLDER, "trajectories": trajectory}] * 6,
            "callback_url": "https://example.com/" + "c" * 1000,
            "external_task_id": "e" * 200}
    text = json.dumps(body)  # ensure_ascii: the largest way to write the prompts
    per_image = IMAGE_CHARS * (1 + 1 / 64 if escaped_slashes else 1)  # "/" is 1/64 of Base64
    return len(text.encode()) + 8 * int(per_image - len(PLACEHOLDER))


def test_the_default_admits_the_largest_legitimate_request():
    assert largest_image2video_size(escaped_slashes=False) <= DEFAULT_MAX_BODY_BYTES
    assert largest_image2video_size(escaped_slashes=True) <= DEFAULT_MAX_BODY_BYTES


def test_the_default_is_eight_images_and_a_small_margin():
    assert 8 * IMAGE_CHARS < DEFAULT_MAX_BODY_BYTES <= 8 * IMAGE_CHARS + 4 * 2**20
    assert Settings().max_body_bytes == DEFAULT_MAX_BODY_BYTES


def test_the_limit_is_read_from_the_environment():
    assert Settings.from_env({"KLING_GATEWAY_MAX_BODY_BYTES": "1234"}).max_body_bytes == 1234
    assert Settings.from_env({}).max_body_bytes == DEFAULT_MAX_BODY_BYTES
