"""Price keys: the one place that turns a validated request into what it costs.

A key names a price in the price table; the quantity says how many times it is charged (images
are charged per image). The official defaults are applied first, so a request that leaves out
``model_name``, ``mode`` or ``duration`` costs the same as one that spells them out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

DEFAULT_MODEL = {
    "text2video": "kling-v1",
    "image2video": "kling-v1",
    "multi-image2video": "kling-v1-6",
    "image-generation": "kling-v1",
    "multi-image2image": "kling-v2",
    "multi-elements": "kling-v1-6",
}
DEFAULT_MODE = "std"
DEFAULT_DURATION = "5"
SELECTION_OPERATIONS = ("init-selection", "add-selection", "delete-selection",
                        "clear-selection", "preview-selection")
CHARGED_SELECTIONS = ("init-selection", "add-selection")
"""The other selection operations are free unless the table has a price for them."""

_VIDEO_PREFIX = {"text2video": "kling-video", "image2video": "kling-video",
                 "multi-image2video": "kling-multi-image2video",
                 "multi-elements": "kling-multi-elements"}
_DOTTED_MODEL = re.compile(r"kling-v(\d+)\.(\d+)")


@dataclass(frozen=True)
class PriceQuote:
    key: str
    quantity: int = 1
    model_name: str | None = None
    mode: str | None = None
    duration: str | None = None
    free_without_price: bool = False
    """True for operations that cost nothing unless a price is set for them."""


def price_quote(operation: str, body: dict[str, Any]) -> PriceQuote:
    """What ``operation`` with this (already validated) body costs, as key and quantity."""
    if operation in SELECTION_OPERATIONS:
        return PriceQuote(key=f"kling-{operation}",
                          free_without_price=operation not in CHARGED_SELECTIONS)
    model = body.get("model_name") or DEFAULT_MODEL[operation]
    if operation in _VIDEO_PREFIX:
        mode = body.get("mode") or DEFAULT_MODE
        duration = str(body.get("duration") or DEFAULT_DURATION)
        return PriceQuote(key=f"{_VIDEO_PREFIX[operation]}_{model}_{mode}_{duration}",
                          model_name=model, mode=mode, duration=duration)
    count = int(body.get("n") or 1)
    if operation == "image-generation":
        suffix = "_2k" if body.get("resolution") == "2k" else ""
        return PriceQuote(key=f"kling-image_{model}{suffix}", quantity=count, model_name=model)
    if operation == "multi-image2image":
        return PriceQuote(key=f"kling-multi-image2image_{model}", quantity=count,
                          model_name=model)
    raise ValueError(f"no price key for operation {operation!r}")


def canonical_price_key(key: str) -> str:
    """Accepts the dotted model aliases of some price lists (``kling-v1.5`` → ``kling-v1-5``)."""
    return _DOTTED_MODEL.sub(r"kling-v\1-\2", key.strip())


# Whole CNY per call (per image for images), from the product brief.
_VIDEO_PRICES = {  # model: (std 5 s, std 10 s, pro 5 s, pro 10 s)
    ("kling-video", "kling-v1"): (5, 10, 15, 30),
    ("kling-video", "kling-v1-5"): (5, 10, 15, 30),
    ("kling-video", "kling-v1-6"): (10, 20, 30, 60),
    ("kling-video", "kling-v2-master"): (15, 30, 45, 90),
    ("kling-video", "kling-v2-1-master"): (15, 30, 45, 90),
    ("kling-multi-image2video", "kling-v1-6"): (30, 60, 90, 180),
    ("kling-multi-elements", "kling-v1-6"): (50, 100, 150, 300),
}
_IMAGE_PRICES = {  # model: (1k, 2k)
    "kling-v1": (5, 15), "kling-v1-5": (5, 15), "kling-v1-6": (10, 30),
    "kling-v2-master": (15, 45), "kling-v2-1-master": (15, 45),
}
_OTHER_PRICES = {"kling-multi-image2image_kling-v2": 30, "kling-init-selection": 5,
                 "kling-add-selection": 2}


def default_prices() -> dict[str, int]:
    """The seeded price table: price key → whole CNY."""
    prices = dict(_OTHER_PRICES)
    for (prefix, model), amounts in _VIDEO_PRICES.items():
        for (mode, duration), amount in zip((("std", 5), ("std", 10), ("pro", 5), ("pro", 10)),
                                            amounts, strict=True):
            prices[f"{prefix}_{model}_{mode}_{duration}"] = amount
    for model, (one_k, two_k) in _IMAGE_PRICES.items():
        prices[f"kling-image_{model}"] = one_k
        prices[f"kling-image_{model}_2k"] = two_k
    return prices
