"""The units a finished simulated task reports in ``final_unit_deduction``, as Kling does.

Plausible rather than exact, from the team's price research (kling-prices.md, "Units per call"):
a video costs its model's per-second rate in its mode times its duration (sound and voices are
not counted); an image task costs its model's units per image (text to image) times ``n``. A
model not listed here costs 1 unit per video or per image.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kling_gateway.domain.families import TaskFamily

_VIDEO_RATES = {  # model: units per second in (std, pro)
    "kling-v1": ("0.2", "0.7"), "kling-v1-5": ("0.4", "0.7"), "kling-v1-6": ("0.4", "0.7"),
    "kling-v2-master": ("2", "2"), "kling-v2-1": ("0.4", "0.7"), "kling-v2-1-master": ("2", "2"),
    "kling-v2-5-turbo": ("0.3", "0.5"), "kling-v2-6": ("0.3", "0.5"), "kling-v3": ("0.6", "0.8"),
}
PER_SECOND: dict[str, dict[str, tuple[str, str]]] = {
    "text2video": _VIDEO_RATES,
    "image2video": _VIDEO_RATES,
    "multi-image2video": {"kling-v1-6": ("0.4", "0.7")},
    "multi-elements": {"kling-v1-6": ("0.6", "1")},
    "effects": {None: ("0.4", "0.4")},  # Kling publishes none: priced as the i2v they are
    "omni-video": {"kling-video-o1": ("0.6", "0.8"), "kling-v3-omni": ("0.6", "0.8")},
}
"""Video families by name: units per second."""
PER_IMAGE: dict[str, dict[str, int]] = {
    "image-generation": {"kling-v1": 1, "kling-v1-5": 4, "kling-v2": 4, "kling-v2-new": 8,
                              "kling-v2-1": 4, "kling-v3": 8},
    "multi-image2image": {"kling-v2": 16, "kling-v2-1": 16},
    "omni-image": {"kling-image-o1": 8, "kling-v3-omni": 8},
    "kolors-virtual-try-on": {"kolors-virtual-try-on-v1": 1, "kolors-virtual-try-on-v1-5": 1},
    "image-expand": {None: 8},
}
"""Image families by name: units per image."""
PER_CALL = {"text-to-audio": "0.25", "custom-voices": "0.05", "custom-elements": "0.05"}
"""Sound families by name: units per call."""


def units_of(family: TaskFamily, body: dict[str, Any]) -> str:
    """``final_unit_deduction`` of a finished task with this (official-typed) create body: a
    decimal string without trailing zeros, e.g. ``"1"`` or ``"3.5"``."""
    model = body.get("model_name") or family.pricing.default_model
    if family.makes_images:
        return str(PER_IMAGE[family.name].get(model, 1) * int(body.get("n") or 1))
    if family.name in PER_CALL:
        return PER_CALL[family.name]
    rates = PER_SECOND[family.name].get(model)
    if rates is None:
        return "1"
    pro = (body.get("mode") or family.pricing.default_mode) == "pro"
    rate = Decimal(rates[1] if pro else rates[0])
    return format((rate * video_seconds(body)).normalize(), "f")


def video_seconds(body: dict[str, Any]) -> int:
    """The length a create body asks for (an effect's is in its ``input``); 5 s by default."""
    return int(body.get("duration") or (body.get("input") or {}).get("duration") or 5)
