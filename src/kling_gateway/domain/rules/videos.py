"""Rules of the video families first served: text, image and multi-image to video, and the
multi-elements edit with its selection session."""

from __future__ import annotations

from kling_gateway.domain.errors import InvalidParameter
from kling_gateway.domain.rules.base import Body, _exactly_one, _present

CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
EDIT_MODE_IMAGE_COUNTS = {"addition": (1, 2), "swap": (1, 1), "removal": (0, 0)}

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


def image_reference_needs_image(body: Body) -> None:
    if _present(body, "image_reference") and not _present(body, "image"):
        raise InvalidParameter("'image_reference' requires 'image'")


def negative_prompt_excludes_image(body: Body) -> None:
    if _present(body, "negative_prompt") and _present(body, "image"):
        raise InvalidParameter(
            "'negative_prompt' is not supported together with 'image' (image to image)")


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
    _exactly_one(body, "video_id", "video_url")
