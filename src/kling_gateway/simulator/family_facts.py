"""What the simulated Kling does per task family: the one simulator module that names them.

Which videos can be extended, how long a source video a family takes, which families report
their source as ``task_info.parent_video``, and the units a finished task reports in
``final_unit_deduction``, as Kling does. The units are plausible rather than exact, from the
team's price research (kling-prices.md, "Units per call"): a video costs its model's per-second
rate in its mode times its duration (sound and voices are not counted); an image task costs its
model's units per image (text to image) times ``n``. A model not listed here costs 1 unit per
video or per image.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kling_gateway.domain.families import TaskFamily

if TYPE_CHECKING:
    from kling_gateway.simulator.sources import Parent

EXTENSION = "video-extend"
"""The family that extends a video: its source's length grows by its own."""
EXTENDABLE_FAMILIES = ("text2video", "image2video", EXTENSION)
SECONDS_LIMITS = {"video-to-audio": (3.0, 20.0)}
"""The source lengths a family takes (Kling's docs), in seconds."""
SPEAKS_ITS_AUDIO = ("avatar",)
"""The families whose video speaks an audio and lasts as long as it: the account's TTS audio
(``audio_id``), or a ``sound_file``, taken to last ``SOUND_FILE_SECONDS``."""
SOUND_FILE_SECONDS = 5.0
REPORTS_PARENT = (EXTENSION, "advanced-lip-sync", "video-to-audio")
"""The families whose task object names its source as ``task_info.parent_video`` (Kling's
docs say nothing of it for the legacy lip-sync)."""

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
    "motion-control": {"kling-v2-6": ("0.5", "0.8"), "kling-v3": ("0.9", "1.2")},
    "avatar": {None: ("0.4", "0.8")},
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
PER_CALL = {"text-to-audio": "0.25", "video-to-audio": "0.25", "custom-voices": "0.05",
            "custom-elements": "0.05"}
"""Families billed per call, by name: units per call."""
BY_SOURCE_MODE = {"video-extend": ("2", "3.5")}
"""Families billed per call by the mode of their source video: units in (std, pro)."""
PER_STARTED_5S = {"lip-sync": "0.5", "advanced-lip-sync": "0.5"}
"""Lip-sync: units per started 5 s of the source video (advanced: of the dubbed audio;
Kling publishes no price for it, so this is lip-sync's)."""


def units_of(family: TaskFamily, body: dict[str, Any], parent: Parent | None = None,
             seconds: float | None = None) -> str:
    """``final_unit_deduction`` of a finished task with this (official-typed) create body
    (and the video it worked on, and the seconds its video lasts when the body does not say:
    a started second counts whole): a decimal string without trailing zeros, e.g. ``"1"`` or
    ``"3.5"``."""
    model = body.get("model_name") or family.pricing.default_model
    if family.makes_images:
        return str(PER_IMAGE[family.name].get(model, 1) * int(body.get("n") or 1))
    if family.name in PER_CALL:
        return PER_CALL[family.name]
    if family.name in BY_SOURCE_MODE:
        return BY_SOURCE_MODE[family.name][parent is not None and parent.mode == "pro"]
    if family.name in PER_STARTED_5S:
        return _per_started_5s(PER_STARTED_5S[family.name], body, parent)
    rates = PER_SECOND[family.name].get(model)
    if rates is None:
        return "1"
    pro = (body.get("mode") or family.pricing.default_mode) == "pro"
    rate = Decimal(rates[1] if pro else rates[0])
    billed = video_seconds(body) if seconds is None else math.ceil(seconds)
    return format((rate * billed).normalize(), "f")


def _per_started_5s(rate: str, body: dict[str, Any], parent: Parent | None) -> str:
    if body.get("face_choose"):
        millis = sum(int(face["sound_end_time"]) - int(face["sound_start_time"])
                     for face in body["face_choose"])
    else:
        millis = round((parent.seconds if parent else 5) * 1000)
    return format((Decimal(rate) * max(1, math.ceil(millis / 5000))).normalize(), "f")


def spoken_seconds(family: TaskFamily, audio: dict[str, Any] | None) -> float | None:
    """How long the video of a family that speaks its audio lasts (None for another family):
    as long as the account's audio the body names, else as a sound file."""
    if family.name not in SPEAKS_ITS_AUDIO:
        return None
    length = audio and (audio.get("duration") or audio.get("duration_mp3"))
    return float(length) if length else SOUND_FILE_SECONDS


def video_seconds(body: dict[str, Any]) -> int:
    """The length a create body asks for (an effect's is in its ``input``); 5 s by default."""
    return int(body.get("duration") or (body.get("input") or {}).get("duration") or 5)
