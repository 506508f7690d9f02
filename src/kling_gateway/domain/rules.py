"""Cross-field request rules that the OpenAPI schema cannot express.

Everything a schema can say (types, enums, ranges, lengths, item counts) is in
``openapi/kling.yaml`` and checked by Connexion before any of this runs. The rules here look at
several fields at once, or at what a string contains. Each is a pure function over the request
body that raises ``InvalidParameter`` (code 1201, HTTP 400) with a message naming the fields.
The simulator and the gateway both call ``check(operation, body)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from kling_gateway.domain.errors import InvalidParameter

Body = dict[str, Any]
Rule = Callable[[Body], None]

MAX_IMAGE_BYTES = 10 * 1024 * 1024
CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
EDIT_MODE_IMAGE_COUNTS = {"addition": (1, 2), "swap": (1, 1), "removal": (0, 0)}
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def _present(body: Body, field: str) -> bool:
    """Kling treats an empty string, empty list or null like an absent field."""
    return body.get(field) not in (None, "", [], {})


# ---- Image inputs -------------------------------------------------------------------------


def check_image_input(value: str, field: str) -> None:
    """An image is an http(s) URL or raw Base64 of at most 10 MB, never a ``data:`` URI."""
    if value[:5].lower() == "data:":
        raise InvalidParameter(
            f"invalid parameter '{field}': send raw Base64 without the data URI prefix; "
            "strip 'data:image/...;base64,' and send only what follows the comma")
    if value.startswith(("http://", "https://")):
        return
    if not value or len(value) % 4 or not _BASE64.fullmatch(value):
        raise InvalidParameter(
            f"invalid parameter '{field}': must be an http(s) URL or raw Base64")
    decoded_bytes = len(value) // 4 * 3 - (len(value) - len(value.rstrip("=")))
    if decoded_bytes > MAX_IMAGE_BYTES:
        raise InvalidParameter(
            f"invalid parameter '{field}': image is {decoded_bytes} bytes, more than 10 MB")


def _image_fields(body: Body, singles: tuple[str, ...],
                  lists: tuple[tuple[str, str], ...]) -> Iterator[tuple[str, str]]:
    for field in singles:  # an empty single field means "not given"; an empty list item is bad
        if isinstance(body.get(field), str) and body[field]:
            yield field, body[field]
    for list_field, key in lists:
        for index, item in enumerate(body.get(list_field) or []):
            if isinstance(item, dict) and isinstance(item.get(key), str):
                yield f"{list_field}[{index}].{key}", item[key]


def images_rule(*singles: str, lists: tuple[tuple[str, str], ...] = ()) -> Rule:
    def images_are_urls_or_raw_base64(body: Body) -> None:
        for field, value in _image_fields(body, singles, lists):
            check_image_input(value, field)

    return images_are_urls_or_raw_base64


# ---- Video rules --------------------------------------------------------------------------


def image2video_needs_a_frame(body: Body) -> None:
    if not (_present(body, "image") or _present(body, "image_tail")):
        raise InvalidParameter("at least one of 'image' and 'image_tail' is required")


def end_frame_motion_brush_and_camera_are_exclusive(body: Body) -> None:
    used = [name for name, fields in (("image_tail", ("image_tail",)),
                                      ("static_mask/dynamic_masks",
                                       ("static_mask", "dynamic_masks")),
                                      ("camera_control", ("camera_control",)))
            if any(_present(body, field) for field in fields)]
    if len(used) > 1:
        raise InvalidParameter(
            f"only one of 'image_tail', the motion brush ('static_mask'/'dynamic_masks') and "
            f"'camera_control' may be used; got {', '.join(repr(u) for u in used)}")


def camera_config_matches_type(body: Body) -> None:
    camera = body.get("camera_control")
    if not isinstance(camera, dict):
        return
    camera_type = camera.get("type") or "simple"
    config = camera.get("config")
    if camera_type != "simple":
        if config is not None:
            raise InvalidParameter(
                f"'camera_control.config' must be absent when 'camera_control.type' is "
                f"'{camera_type}'")
        return
    if not isinstance(config, dict):
        raise InvalidParameter(
            "'camera_control.config' is required when 'camera_control.type' is 'simple'")
    moving = [axis for axis in CAMERA_AXES if config.get(axis) not in (None, 0)]
    if len(moving) != 1:
        raise InvalidParameter(
            "exactly one of camera_control.config's 'horizontal', 'vertical', 'pan', 'tilt', "
            f"'roll', 'zoom' must be non-zero; got {len(moving)} non-zero")


def prompt_unless_custom_shots(body: Body) -> None:
    custom_shots = body.get("multi_shot") is True and body.get("shot_type") == "customize"
    if not custom_shots and not _present(body, "prompt"):
        raise InvalidParameter(
            "missing required parameter 'prompt' (it may be empty only with multi_shot=true "
            "and shot_type='customize')")


def multi_shot_is_complete(body: Body) -> None:
    if body.get("multi_shot") is not True:
        return
    if not _present(body, "shot_type"):
        raise InvalidParameter("'shot_type' is required when 'multi_shot' is true")
    if body["shot_type"] != "customize":
        return
    shots = body.get("multi_prompt") or []
    if not shots:
        raise InvalidParameter("'multi_prompt' is required when 'shot_type' is 'customize'")
    total = sum(int(shot["duration"]) for shot in shots)
    expected = int(body.get("duration") or "5")
    if total != expected:
        raise InvalidParameter(
            f"the durations in 'multi_prompt' add up to {total} s, but 'duration' is "
            f"{expected} s")


def voices_need_sound_and_exclude_elements(body: Body) -> None:
    if not _present(body, "voice_list"):
        return
    if body.get("sound") != "on":
        raise InvalidParameter("'voice_list' requires 'sound' to be 'on'")
    if _present(body, "element_list"):
        raise InvalidParameter("'voice_list' and 'element_list' cannot be used together")


# ---- Image rules --------------------------------------------------------------------------


def image_reference_needs_image(body: Body) -> None:
    if _present(body, "image_reference") and not _present(body, "image"):
        raise InvalidParameter("'image_reference' requires 'image'")


def negative_prompt_excludes_image(body: Body) -> None:
    if _present(body, "negative_prompt") and _present(body, "image"):
        raise InvalidParameter(
            "'negative_prompt' is not supported together with 'image' (image to image)")


# ---- Multi-elements rules -----------------------------------------------------------------


def edit_mode_image_count(body: Body) -> None:
    mode = body.get("edit_mode")
    if mode not in EDIT_MODE_IMAGE_COUNTS:
        return
    low, high = EDIT_MODE_IMAGE_COUNTS[mode]
    count = len(body.get("image_list") or [])
    if not low <= count <= high:
        wanted = "no images" if high == 0 else (
            f"exactly {low} image" if low == high else f"{low} to {high} images")
        raise InvalidParameter(
            f"edit_mode '{mode}' takes {wanted} in 'image_list'; got {count}")


def selection_needs_one_video(body: Body) -> None:
    given = [field for field in ("video_id", "video_url") if _present(body, field)]
    if len(given) != 1:
        raise InvalidParameter(
            "exactly one of 'video_id' and 'video_url' is required; got "
            + (" and ".join(repr(g) for g in given) if given else "neither"))


# ---- Which rules apply where --------------------------------------------------------------

SELECTION_RULES: dict[str, tuple[Rule, ...]] = {
    "init-selection": (selection_needs_one_video,),
}
"""The rules of the calls that are not tasks; a task family's rules are in its entry
(``domain.families``)."""


def check(operation: str, body: Body) -> None:
    """Apply every cross-field rule of ``operation`` to a body the schema already accepted."""
    for rule in SELECTION_RULES.get(operation, ()):
        rule(body)
