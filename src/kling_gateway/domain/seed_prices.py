"""The prices a new gateway starts with: the product brief's 41, and Kling's list for the rest.

Kling bills in units of three resource packs; the gateway resells at Kling's China list price
(research note ``kling-prices.md``, section 3), one conversion for each pack:

    video unit  ¥1.00      (Kling's video page: $0.14 a unit ≈ ¥1, and what CN resellers charge)
    image unit  ¥0.025     ($0.0035 at 7.14 CNY a dollar), each image price rounded up to the fen

The tables hold Kling's units as Kling publishes them; the amounts are derived here and nowhere
else. Where Kling publishes nothing, the README's price table says so and names the default.
Keys are built by ``pricing.PriceKey``, so a seeded key is always one a request produces.
"""

from __future__ import annotations

from decimal import Decimal

from kling_gateway.domain.money import UNITS_PER_CNY
from kling_gateway.domain.pricing import PRODUCTS, PriceKey, parse_price_key

VIDEO_UNIT_PRICE = UNITS_PER_CNY  # ¥1.00
IMAGE_UNIT_PRICE = UNITS_PER_CNY // 40  # ¥0.025
FEN = UNITS_PER_CNY // 100

KLING_VIDEO_UNITS_PER_SECOND: dict[str, dict[tuple[str, str | None], str]] = {
    # model: (mode, audio) → video units per second of output (t2v and i2v alike)
    "kling-v1": {("std", None): "0.2", ("pro", None): "0.7"},
    "kling-v1-5": {("std", None): "0.4", ("pro", None): "0.7"},
    "kling-v1-6": {("std", None): "0.4", ("pro", None): "0.7"},
    # Kling runs the master models in one mode at one rate: std and pro cost the same.
    "kling-v2-master": {("std", None): "2.0", ("pro", None): "2.0"},
    "kling-v2-1": {("std", None): "0.4", ("pro", None): "0.7"},
    "kling-v2-1-master": {("std", None): "2.0", ("pro", None): "2.0"},
    "kling-v2-5-turbo": {("std", None): "0.3", ("pro", None): "0.5"},
    "kling-v2-6": {("std", None): "0.3", ("pro", None): "0.5", ("pro", "sound"): "1.0",
                   ("pro", "voice"): "1.2"},
    "kling-v3": {("std", None): "0.6", ("pro", None): "0.8", ("std", "sound"): "0.9",
                 ("pro", "sound"): "1.2"},
}
KLING_IMAGE_UNITS: dict[str, dict[tuple[str, ...], int]] = {
    # model: options (2k, i2i) → image units per image
    "kling-v1": {(): 1, ("i2i",): 1},
    "kling-v1-5": {(): 4, ("i2i",): 8},
    "kling-v2": {(): 4, ("2k",): 4, ("i2i",): 8},
    "kling-v2-new": {("i2i",): 8},
    "kling-v2-1": {(): 4, ("2k",): 4, ("i2i",): 8, ("2k", "i2i"): 8},
    "kling-v3": {(): 8, ("2k",): 8, ("i2i",): 8, ("2k", "i2i"): 8},
}
KLING_MULTI_IMAGE2IMAGE_UNITS = {"kling-v2": 16, "kling-v2-1": 16}  # per image
KLING_OMNI_VIDEO_UNITS_PER_SECOND: dict[str, dict[tuple[str, str | None], str]] = {
    # model: (mode, option) → video units per second; "video": made from a reference video
    "kling-video-o1": {("std", None): "0.6", ("pro", None): "0.8", ("std", "video"): "0.9",
                       ("pro", "video"): "1.2"},
    "kling-v3-omni": {("std", None): "0.6", ("pro", None): "0.8", ("std", "sound"): "0.8",
                      ("pro", "sound"): "1.0", ("std", "video"): "0.9", ("pro", "video"): "1.2"},
}
KLING_OMNI_IMAGE_UNITS = {  # model: options → image units per image (1k and 2k alike)
    "kling-image-o1": {(): 8}, "kling-v3-omni": {(): 8, ("4k",): 16},
}
KLING_PER_CALL_CNY = {
    # Kling publishes no effect price: an effect is priced as the i2v it is (v1-6 std, ¥2 / 5 s)
    "kling-effects": "0.4",  # per second
    "kling-image-expand": "0.2",  # per image (8 image units)
    "kling-text-to-audio": "0.25",  # per call
}
KLING_MOTION_CONTROL_UNITS_PER_SECOND: dict[str, dict[tuple[str, str | None], str]] = {
    # per second of output, whose length is the reference video's
    "kling-v2-6": {("std", None): "0.5", ("pro", None): "0.8"},
    "kling-v3": {("std", None): "0.9", ("pro", None): "1.2"},
}
KLING_ACCOUNT_RESOURCE_CNY = {
    "kling-tts": "0.05",  # per call
    "kling-custom-voice": "0.05",  # per voice made
    # Kling publishes no price for making an element: sold as a custom voice is, until known
    "kling-custom-element": "0.05",
    "kling-image-recognize": "0.1",  # per call
}
KLING_TRY_ON_CNY = {"kolors-virtual-try-on-v1": "0.5", "kolors-virtual-try-on-v1-5": "0.5"}
"""Virtual try-on has its own pack, at ¥0.50 an image."""

# The product brief's prices in whole CNY per call (per image for images). They stay as they
# are (migration 0002 seeded them) and, being exact keys, win over Kling's rates.
_BRIEF_VIDEO = {  # (prefix, model): (std 5 s, std 10 s, pro 5 s, pro 10 s)
    ("kling-video", "kling-v1"): (5, 10, 15, 30),
    ("kling-video", "kling-v1-5"): (5, 10, 15, 30),
    ("kling-video", "kling-v1-6"): (10, 20, 30, 60),
    ("kling-video", "kling-v2-master"): (15, 30, 45, 90),
    ("kling-video", "kling-v2-1-master"): (15, 30, 45, 90),
    ("kling-multi-image2video", "kling-v1-6"): (30, 60, 90, 180),
    ("kling-multi-elements", "kling-v1-6"): (50, 100, 150, 300),
}
_BRIEF_IMAGE = {  # model: (1k, 2k)
    "kling-v1": (5, 15), "kling-v1-5": (5, 15), "kling-v1-6": (10, 30),
    "kling-v2-master": (15, 45), "kling-v2-1-master": (15, 45),
}
_BRIEF_OTHER = {"kling-multi-image2image_kling-v2": 30, "kling-init-selection": 5,
                "kling-add-selection": 2}


def brief_prices() -> dict[str, int]:
    """The product brief's 41 prices (1/10000 CNY), as migration 0002 seeds them."""
    prices = {key: cny * UNITS_PER_CNY for key, cny in _BRIEF_OTHER.items()}
    for (prefix, model), amounts in _BRIEF_VIDEO.items():
        for (mode, seconds), cny in zip((("std", 5), ("std", 10), ("pro", 5), ("pro", 10)),
                                        amounts, strict=True):
            prices[str(PriceKey(PRODUCTS[prefix], model, mode, seconds))] = cny * UNITS_PER_CNY
    for model, (one_k, two_k) in _BRIEF_IMAGE.items():
        prices[str(PriceKey(PRODUCTS["kling-image"], model))] = one_k * UNITS_PER_CNY
        prices[str(PriceKey(PRODUCTS["kling-image"], model, options=("2k",)))] = (
            two_k * UNITS_PER_CNY)
    return prices


def _image_price(units: int) -> int:
    """Rounded up to the fen: CNY is paid in fen, and ¥0.025 would otherwise be sold at a loss."""
    return -(-units * IMAGE_UNIT_PRICE // FEN) * FEN


def _video_rates(product: str, table: dict[str, dict[tuple[str, str | None], str]]
                 ) -> dict[str, int]:
    prices: dict[str, int] = {}
    for model, rates in table.items():
        for (mode, option), units in rates.items():
            key = PriceKey(PRODUCTS[product], model, mode, None, (option,) if option else ())
            prices[str(key)] = _exact(Decimal(units) * VIDEO_UNIT_PRICE, key)
    return prices


def _exact(amount: Decimal, what: object) -> int:
    if amount != amount.to_integral_value():  # money is whole 1/10000 CNY
        raise ValueError(f"{what}: {amount} is no exact amount")
    return int(amount)


def kling_list_prices() -> dict[str, int]:
    """Kling's list prices (1/10000 CNY) for every row its price pages publish."""
    return {**first_kling_list(), **more_families_list(), **motion_control_list(),
            **lip_sync_and_video_tools_list(), **account_resources_list(), **avatar_list()}


def first_kling_list() -> dict[str, int]:
    """Kling's list for the first six families (migration 0008 seeded these)."""
    prices = _video_rates("kling-video", KLING_VIDEO_UNITS_PER_SECOND)
    for model, by_options in KLING_IMAGE_UNITS.items():
        for options, units in by_options.items():
            key = PriceKey(PRODUCTS["kling-image"], model, options=options)
            prices[str(key)] = _image_price(units)
    for model, units in KLING_MULTI_IMAGE2IMAGE_UNITS.items():
        prices[str(PriceKey(PRODUCTS["kling-multi-image2image"], model))] = _image_price(units)
    return prices


def more_families_list() -> dict[str, int]:
    """Kling's list for the families served since (migration 0010 seeds these)."""
    prices = _video_rates("kling-omni-video", KLING_OMNI_VIDEO_UNITS_PER_SECOND)
    for model, by_options in KLING_OMNI_IMAGE_UNITS.items():
        for options, units in by_options.items():
            key = PriceKey(PRODUCTS["kling-omni-image"], model, options=options)
            prices[str(key)] = _image_price(units)
    for prefix, cny in KLING_PER_CALL_CNY.items():
        prices[prefix] = _exact(Decimal(cny) * UNITS_PER_CNY, prefix)
    for model, cny in KLING_TRY_ON_CNY.items():
        key = PriceKey(PRODUCTS["kling-virtual-try-on"], model)
        prices[str(key)] = _exact(Decimal(cny) * UNITS_PER_CNY, key)
    return prices


def motion_control_list() -> dict[str, int]:
    """Kling's list for motion control (migration 0014 seeds these)."""
    return _video_rates("kling-motion-control", KLING_MOTION_CONTROL_UNITS_PER_SECOND)


KLING_LIP_SYNC_AND_VIDEO_TOOLS_CNY = {
    "kling-video-extend_std": "2",  # per call, in the mode of the extended video
    "kling-video-extend_pro": "3.5",
    "kling-lip-sync": "0.5",  # per started 5 s of the source video
    # A video given by URL: its length is known only once the task runs. Priced as 10 s (two
    # started 5 s), the longest video the older lip-sync docs allowed.
    "kling-lip-sync-url": "1",
    "kling-video-to-audio": "0.25",  # per call
    "kling-identify-face": "0.05",  # per call
    # Kling publishes no price: provisionally lip-sync's, per started 5 s of dubbed audio
    "kling-advanced-lip-sync": "0.5",
}


def lip_sync_and_video_tools_list() -> dict[str, int]:
    """Kling's list for video extension, lip-sync, identify face, advanced lip-sync and video
    to audio (migration 0012 seeds these). Each key is checked to be one a request produces."""
    prices: dict[str, int] = {}
    for key, cny in KLING_LIP_SYNC_AND_VIDEO_TOOLS_CNY.items():
        prices[str(parse_price_key(key))] = _exact(Decimal(cny) * UNITS_PER_CNY, key)
    return prices


def account_resources_list() -> dict[str, int]:
    """Kling's list for TTS, custom voices and elements, and image recognition (migration 0013
    seeds these)."""
    return {prefix: _exact(Decimal(cny) * UNITS_PER_CNY, prefix)
            for prefix, cny in KLING_ACCOUNT_RESOURCE_CNY.items()}


KLING_AVATAR_CNY_PER_SECOND = {"kling-avatar_std": "0.4", "kling-avatar_pro": "0.8"}
"""Per second of output, which lasts as long as the audio spoken (kling-prices.md §2c/§3)."""


def avatar_list() -> dict[str, int]:
    """Kling's list for avatar (migration 0015 seeds these). Each key is checked to be one a
    request produces."""
    return {str(parse_price_key(key)): _exact(Decimal(cny) * UNITS_PER_CNY, key)
            for key, cny in KLING_AVATAR_CNY_PER_SECOND.items()}


def default_prices() -> dict[str, int]:
    """The price table of a new gateway: Kling's list where the brief has no price."""
    return {**kling_list_prices(), **brief_prices()}
