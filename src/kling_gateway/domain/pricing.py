"""Prices: the one place that says what a request costs and what a price key sells.

The price table maps string keys to amounts (1/10000 CNY). A key's shape says what it is the
price of and per what; only this module builds or reads that shape:

    kling-video_{model}_{mode}_{seconds}[_{audio}]   per call: the price of exactly that video
    kling-video_{model}_{mode}[_{audio}]             per second of output, for any length
    kling-multi-image2video_…, kling-multi-elements_…   the same two forms
    kling-image_{model}[_2k][_i2i]                   per image
    kling-multi-image2image_{model}                  per image
    kling-init-selection, kling-add-selection, …     per call
    kling-video-extend_{mode}                        per call, by the mode of the extended video
    kling-avatar_{mode}                              per second of output, by the body's mode
    kling-lip-sync, kling-advanced-lip-sync          per started 5 s of (lip-synced) video
    kling-lip-sync-url, kling-video-to-audio, kling-identify-face   per call
    kling-tts, kling-image-recognize, kling-custom-voice, kling-custom-element   per call

``audio`` is ``sound`` (``sound`` on) or ``voice`` (``sound`` on with a ``voice_list``, which
Kling bills as voice control); ``2k`` is ``resolution`` 2k and ``i2i`` a reference ``image``.
A task working on the caller's own video is priced by what the gateway knows of that video
(``SourceVideo``: the mode and length its task recorded), an avatar speaking the caller's own
audio by that audio's recorded length; a lip-sync of a video given by URL,
whose length is known only once it runs, is priced per call.
A video whose length Kling decides from an input (motion control's reference video, the audio
an avatar speaks) is charged per second for the longest it may make, and settled to what it
made (``services.billing.settle``).
A video is charged its exact per-call price when the table has one, else its per-second rate
times its seconds; images are charged their rate times ``n``. Model names are open: a model
Kling adds is sold as soon as a key prices it.

Kling's own defaults are applied first, and written into the body sent to Kling
(``priced_body``), so that Kling runs exactly what was charged even if its defaults change.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kling_gateway.domain import families
from kling_gateway.domain.errors import InvalidParameter
from kling_gateway.domain.families import FAMILIES

# ---- Kling's defaults and documented models -------------------------------------------------

DEFAULT_MODE = "std"
DEFAULT_DURATION = "5"
DEFAULT_RESOLUTION = "1k"
DEFAULT_COUNT = 1
MODES = ("std", "pro")
_DOTTED_MODEL = re.compile(r"kling-v(\d+)\.(\d+)")

SELECTION_OPERATIONS = ("init-selection", "add-selection", "delete-selection",
                        "clear-selection", "preview-selection")
CHARGED_SELECTIONS = ("init-selection", "add-selection")
"""The other selection operations are free unless the table has a price for them."""
PRICED_CALLS = ("identify-face", "tts", "image-recognize")
"""Synchronous calls that are not tasks, each sold at one price per call (``kling-{operation}``)."""
LIP_SYNC_BLOCK_MS = 5000
"""Kling bills lip-sync per started 5 s of video."""


# ---- What a key sells -----------------------------------------------------------------------


class Per(StrEnum):
    CALL = "call"
    SECOND = "second"
    IMAGE = "image"
    STARTED_5S = "5s"
    """Per started 5 s of video (lip-sync): 12 s are charged three times."""


@dataclass(frozen=True)
class Product:
    """What the keys of one prefix are prices of."""

    prefix: str
    rate_per: Per
    durations: tuple[int, ...] = ()
    """The seconds its videos may last; empty for what is not a video."""
    option_slots: tuple[tuple[str, ...], ...] = ()
    """Options a key may end with: at most one of each slot, in this order."""
    has_model: bool = True
    counted: bool = True
    """Whether its requests say how many images to make (``n``); one image when not."""
    moded: bool = False
    """Whether its keys (without a model) name a mode: per call, that of the video a task
    works on; per second, that the body asks for."""


PRODUCTS = {product.prefix: product for product in (
    Product("kling-video", Per.SECOND, tuple(range(3, 16)), (("sound", "voice"),)),
    Product("kling-multi-image2video", Per.SECOND, (5, 10)),
    Product("kling-multi-elements", Per.SECOND, (5, 10)),
    Product("kling-image", Per.IMAGE, option_slots=(("2k",), ("i2i",))),
    Product("kling-multi-image2image", Per.IMAGE),
    Product("kling-omni-video", Per.SECOND, tuple(range(3, 16)), (("sound", "video"),)),
    Product("kling-effects", Per.SECOND, has_model=False),
    Product("kling-omni-image", Per.IMAGE, option_slots=(("4k",),)),
    Product("kling-virtual-try-on", Per.IMAGE, counted=False),
    Product("kling-image-expand", Per.IMAGE, has_model=False),
    Product("kling-text-to-audio", Per.CALL, has_model=False),
    Product("kling-motion-control", Per.SECOND, tuple(range(1, 31))),
    *(Product(f"kling-{operation}", Per.CALL, has_model=False)
      for operation in SELECTION_OPERATIONS),
    Product("kling-video-extend", Per.CALL, has_model=False, moded=True),
    Product("kling-avatar", Per.SECOND, has_model=False, moded=True),
    Product("kling-lip-sync", Per.STARTED_5S, has_model=False),
    Product("kling-lip-sync-url", Per.CALL, has_model=False),
    Product("kling-video-to-audio", Per.CALL, has_model=False),
    Product("kling-advanced-lip-sync", Per.STARTED_5S, has_model=False),
    Product("kling-custom-voice", Per.CALL, has_model=False),
    Product("kling-custom-element", Per.CALL, has_model=False),
    *(Product(f"kling-{operation}", Per.CALL, has_model=False) for operation in PRICED_CALLS),
)}
_PRODUCT_OF = {**{family.name: PRODUCTS[family.pricing.product] for family in FAMILIES},
               **{operation: PRODUCTS[f"kling-{operation}"]
                  for operation in (*SELECTION_OPERATIONS, *PRICED_CALLS)}}
"""The product each task family and each priced call (a selection operation) is sold as."""
_UNMEASURED = {"lip-sync": PRODUCTS["kling-lip-sync-url"]}
"""What a family priced by the length of its source video is sold as when that length is not
known before the task runs (a video given by URL): per call."""


def operations_sold_as(product: Product) -> tuple[str, ...]:
    return tuple(operation for operation, sold in (*_PRODUCT_OF.items(), *_UNMEASURED.items())
                 if sold is product)
OPTION_LABELS = {"sound": "sound on", "voice": "sound on with voice control", "2k": "2k",
                 "i2i": "image to image"}


@dataclass(frozen=True)
class PriceKey:
    product: Product
    model: str | None = None
    mode: str | None = None
    seconds: int | None = None
    """Set on an exact per-call video key; a video key without it is a per-second rate."""
    options: tuple[str, ...] = ()

    @property
    def per(self) -> Per:
        return Per.CALL if self.seconds is not None else self.product.rate_per

    def __str__(self) -> str:
        parts = (self.product.prefix, self.model, self.mode,
                 None if self.seconds is None else str(self.seconds), *self.options)
        return "_".join(part for part in parts if part is not None)


# ---- What a request costs -------------------------------------------------------------------


@dataclass(frozen=True)
class PriceQuote:
    operation: str
    keys: tuple[PriceKey, ...]
    """Looked up in this order; the first one the table prices is charged."""
    model_name: str | None = None
    mode: str | None = None
    duration: str | None = None
    count: int = 1
    priced_fields: tuple[tuple[str, Any], ...] = ()
    """The request fields the price depends on, with the values charged for."""
    free_without_price: bool = False
    """True for operations that cost nothing unless a price is set for them."""

    def quantity(self, key: PriceKey) -> int:
        """How many times ``key``'s price is charged: per second, per image, per started 5 s
        (``count`` of them) or once."""
        if key.per is Per.SECOND:
            return int(self.duration or DEFAULT_DURATION)
        return self.count if key.per in (Per.IMAGE, Per.STARTED_5S) else 1

    def unpriced_message(self) -> str:
        """The 1103 answer when no key is priced: what was asked, and the key that sells it."""
        rate = self.keys[-1]
        what = self.operation
        if rate.model is not None:
            details = [d for d in (rate.mode, self.duration and f"{self.duration} s") if d]
            details += [OPTION_LABELS[option] for option in rate.options]
            what = f"model {rate.model} for {self.operation}" + (
                f" ({', '.join(details)})" if details else "")
        if rate.model is not None and "_" in rate.model:
            return f"{what} cannot be priced on this gateway: no price key names a model with '_'"
        return (f"{what} is not priced on this gateway; an operator enables it with: "
                f"kling-gateway admin price set {rate} <CNY per {rate.per}>")


@dataclass(frozen=True)
class SourceVideo:
    """What the gateway knows of the caller's own video a request works on, from the task
    that made it (or of the audio an avatar speaks: its length)."""

    mode: str | None = None
    seconds: float | None = None


def price_quote(operation: str, body: dict[str, Any],
                source: SourceVideo | None = None) -> PriceQuote:
    """What ``operation`` with this (already validated) body costs; Kling's defaults fill
    what the body leaves out (the legacy ``model`` field counts as no ``model_name``).
    ``source``: the caller's video the body names, when the gateway knows it."""
    product = _PRODUCT_OF.get(operation)
    if product is None:
        raise ValueError(f"no price key for operation {operation!r}")
    if operation in SELECTION_OPERATIONS:
        return PriceQuote(operation, (PriceKey(product),),
                          free_without_price=operation not in CHARGED_SELECTIONS)
    if operation in PRICED_CALLS:
        return PriceQuote(operation, (PriceKey(product),))
    pricing = families.named(operation).pricing
    if product.moded:
        return _moded_quote(operation, product, pricing, body, source)
    if product.rate_per is Per.STARTED_5S:
        return _lip_sync_quote(operation, product, body, source)
    if not product.has_model:
        return _flat_quote(operation, product, body)
    model = str(body.get("model_name") or pricing.default_model)
    if product.durations:
        return _video_quote(operation, product, model,
                            str(body.get("mode") or pricing.default_mode), body,
                            None if pricing.longest is None else pricing.longest(body))
    return _image_quote(operation, product, model, body)


def _flat_quote(operation: str, product: Product, body: dict[str, Any]) -> PriceQuote:
    """A family without models: one price per call, per image or per second of video (an
    effect's length is in its ``input``)."""
    if product.rate_per is Per.SECOND:
        seconds = body.get("duration") or (body.get("input") or {}).get("duration")
        duration = str(_whole_number(seconds or DEFAULT_DURATION, "duration"))
        return PriceQuote(operation, (PriceKey(product),), duration=duration)
    count = _whole_number(body.get("n") or DEFAULT_COUNT, "n")
    fields = (("n", count),) if product.rate_per is Per.IMAGE else ()
    return PriceQuote(operation, (PriceKey(product),), count=count, priced_fields=fields)


def _moded_quote(operation: str, product: Product, pricing: families.Pricing,
                 body: dict[str, Any], source: SourceVideo | None) -> PriceQuote:
    """Per call in the mode of the video it works on (Kling runs and bills an extension so);
    per second in the mode the body asks, for as long as the caller's audio it speaks lasts
    when the gateway knows (``source``), else for the longest it may make (a sound file)."""
    if product.rate_per is not Per.SECOND:
        mode = (source.mode if source else None) or pricing.default_mode
        return PriceQuote(operation, (PriceKey(product, mode=mode),), mode=mode)
    mode = str(body.get("mode") or pricing.default_mode)
    if source is not None and source.seconds:  # a started second counts whole
        duration = str(math.ceil(source.seconds))
    elif pricing.longest is not None:
        duration = str(pricing.longest(body))
    else:
        duration = str(_whole_number(body.get("duration") or DEFAULT_DURATION, "duration"))
    return PriceQuote(operation, (PriceKey(product, mode=mode),), mode=mode, duration=duration,
                      priced_fields=(("mode", mode),))


def _lip_sync_quote(operation: str, product: Product, body: dict[str, Any],
                    source: SourceVideo | None) -> PriceQuote:
    """Per started 5 s: of the dubbed span for advanced lip-sync (each face's cropped audio),
    of the source video for lip-sync; per call when that length is not known beforehand."""
    if "face_choose" in body:
        millis = sum(max(int(face.get("sound_end_time") or 0)
                         - int(face.get("sound_start_time") or 0), 0)
                     for face in body["face_choose"] if isinstance(face, dict))
    elif source is not None and source.seconds:
        millis = round(source.seconds * 1000)
    else:
        return PriceQuote(operation, (PriceKey(_UNMEASURED[operation]),))
    return PriceQuote(operation, (PriceKey(product),),
                      count=max(1, math.ceil(millis / LIP_SYNC_BLOCK_MS)))


def _video_options(product: Product, body: dict[str, Any]) -> tuple[str, ...]:
    """Kling prices a video's sound apart (and voice control apart from sound), and an omni
    video made from a reference video apart."""
    slot = product.option_slots[0] if product.option_slots else ()
    if "video" in slot and body.get("video_list"):
        return ("video",)
    if body.get("sound") != "on" or not slot:
        return ()
    return ("voice",) if "voice" in slot and body.get("voice_list") else ("sound",)


def _video_quote(operation: str, product: Product, model: str, mode: str,
                 body: dict[str, Any], longest: int | None = None) -> PriceQuote:
    options = _video_options(product, body)
    key_model = canonical_price_key(model)
    if longest is not None:  # charged per second for the longest it may make, settled later
        return PriceQuote(operation, (PriceKey(product, key_model, mode, None, options),),
                          model_name=model, mode=mode, duration=str(longest),
                          priced_fields=(("model_name", model), ("mode", mode)))
    duration = str(_whole_number(body.get("duration") or DEFAULT_DURATION, "duration"))
    exact = PriceKey(product, key_model, mode, int(duration), options)
    return PriceQuote(operation, (exact, PriceKey(product, key_model, mode, None, options)),
                      model_name=model, mode=mode, duration=duration,
                      priced_fields=(("model_name", model), ("mode", mode),
                                     ("duration", duration)))


def _image_quote(operation: str, product: Product, model: str,
                 body: dict[str, Any]) -> PriceQuote:
    count = _whole_number(body.get("n") or DEFAULT_COUNT, "n") if product.counted else 1
    fields: tuple[tuple[str, Any], ...] = (("model_name", model),)
    if product.counted:
        fields += (("n", count),)
    options: tuple[str, ...] = ()
    if product.option_slots:
        resolution = str(body.get("resolution") or DEFAULT_RESOLUTION)
        fields += (("resolution", resolution),)
        # Kling prices some resolutions and image to image apart (a resolution Kling adds to
        # text to image names its option).
        if resolution != DEFAULT_RESOLUTION and (
                resolution in _option_names(product) or product.prefix == "kling-image"):
            options += (resolution,)
        if body.get("image") and "i2i" in _option_names(product):
            options += ("i2i",)
    return PriceQuote(operation, (PriceKey(product, canonical_price_key(model), None, None,
                                           options),),
                      model_name=model, count=count, priced_fields=fields)


def seconds_made(result: dict[str, Any] | None) -> int | None:
    """The whole seconds of a finished task's video (Kling bills a started second), if any."""
    videos = (result or {}).get("videos") or []
    try:
        return math.ceil(float(videos[0]["duration"])) if videos else None
    except (KeyError, TypeError, ValueError):
        return None


def settled_amount(charged: int, charged_seconds: int, made_seconds: int) -> int:
    """What a task charged ``charged`` for ``charged_seconds`` costs for ``made_seconds``: the
    same price per second, never more than was charged."""
    per_second = charged // charged_seconds
    return min(charged, per_second * made_seconds)


def _option_names(product: Product) -> set[str]:
    return {option for slot in product.option_slots for option in slot}


def _whole_number(value: Any, field: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise InvalidParameter(f"invalid parameter '{field}': {value!r} is not a whole number"
                               ) from None


def priced_body(body: dict[str, Any], quote: PriceQuote) -> dict[str, Any]:
    """``body`` with every field its price depends on spelled out as charged: what the client
    left out (or sent empty) Kling would otherwise fill with its own, possibly newer, default."""
    missing = {name: value for name, value in quote.priced_fields
               if body.get(name) in (None, "")}
    return {**body, **missing} if missing else body


# ---- Reading keys ---------------------------------------------------------------------------


class _Unproducible(ValueError):
    """Why no request can produce a key."""


def parse_price_key(text: str) -> PriceKey:
    """An operator's key, read; 1201 saying what a key looks like when no request can ever
    produce it. Model names are open: any name without '_' is one."""
    try:
        return _parse(text)
    except _Unproducible as reason:
        raise InvalidParameter(f"invalid parameter 'key': no request produces '{text}': "
                               f"{reason}. {key_forms()}") from None


def _parse(text: str) -> PriceKey:
    prefix, *parts = text.split("_")
    product = PRODUCTS.get(prefix)
    if product is None:
        raise _Unproducible(f"'{prefix}' is not a price key prefix")
    if product.moded:
        if len(parts) != 1 or parts[0] not in MODES:
            raise _Unproducible(f"a mode ({' or '.join(MODES)}) and nothing else must follow "
                                f"'{prefix}'")
        return PriceKey(product, mode=parts[0])
    if not product.has_model:
        if parts:
            raise _Unproducible(f"'{prefix}' is a whole key, nothing follows it")
        return PriceKey(product)
    if not parts or not parts[0]:
        raise _Unproducible("it names no model")
    model, *parts = parts
    mode = seconds = None
    if product.durations:
        if not parts or parts[0] not in MODES:
            raise _Unproducible(f"a mode ({' or '.join(MODES)}) must follow the model")
        mode, *parts = parts
        if parts and parts[0].isascii() and parts[0].isdigit():
            seconds = int(parts[0])
            if seconds not in product.durations or str(seconds) != parts[0]:
                raise _Unproducible(f"'{parts[0]}' is not a length in seconds of {prefix} "
                                    f"videos ({_durations_text(product)})")
            parts = parts[1:]
    return PriceKey(product, model, mode, seconds, _options(product, parts))


def _options(product: Product, parts: list[str]) -> tuple[str, ...]:
    slot = 0
    for part in parts:
        while slot < len(product.option_slots) and part not in product.option_slots[slot]:
            slot += 1
        if slot == len(product.option_slots):
            allowed = ", then ".join("|".join(s) for s in product.option_slots) or "none"
            raise _Unproducible(f"'{part}' is not an option of {product.prefix} keys, or is "
                                f"out of place (options, in this order: {allowed})")
        slot += 1
    return tuple(parts)


def _durations_text(product: Product) -> str:
    low, high = product.durations[0], product.durations[-1]
    if list(product.durations) == list(range(low, high + 1)) and high - low > 1:
        return f"{low}-{high}"
    return "|".join(str(seconds) for seconds in product.durations)


def _form(product: Product) -> str:
    if product.moded:
        return f"{product.prefix}_{{{'|'.join(MODES)}}}"
    if not product.has_model:
        return product.prefix
    form = f"{product.prefix}_{{model}}"
    if product.durations:
        form += f"_{{{'|'.join(MODES)}}}[_{{{_durations_text(product)}}}]"
    return form + "".join("[" + "|".join(f"_{option}" for option in slot) + "]"
                          for slot in product.option_slots)


def key_forms() -> str:
    """What a price key looks like, for the operator who gave a wrong one."""
    forms = "; ".join(_form(product) for product in PRODUCTS.values())
    return (f"A price key is one of: {forms}. A video key with its seconds is the price of "
            "one call, without them a price per second; an image key is a price per image; "
            "a lip-sync key is a price per started 5 s of video; a video-extend key is a price "
            "per call, an avatar key a price per second")


@dataclass(frozen=True)
class KeyDescription:
    """What a price in the table sells, as ``admin price list`` shows it."""

    families: tuple[str, ...] = ()
    model: str | None = None
    mode: str | None = None
    seconds: int | None = None
    options: tuple[str, ...] = ()
    per: Per | None = None
    """None when no request can produce the key."""
    note: str | None = None


def describe_price_key(text: str) -> KeyDescription:
    try:
        key = _parse(text)
    except _Unproducible as reason:
        return KeyDescription(note=f"no request produces this key: {reason}")
    sold_as, note = operations_sold_as(key.product), None
    documented = tuple(operation for operation in sold_as if key.model is None
                       or key.model in families.named(operation).pricing.models)
    if not documented:
        documented = sold_as
        note = f"Kling documents no model {key.model} for {' or '.join(sold_as)}"
    return KeyDescription(documented, key.model, key.mode, key.seconds, key.options, key.per,
                          note)


def canonical_price_key(key: str) -> str:
    """Accepts the dotted model aliases of some price lists and clients (``kling-v1.5`` →
    ``kling-v1-5``): the table stores, and requests look up, the hyphenated form."""
    return _DOTTED_MODEL.sub(r"kling-v\1-\2", key.strip())
