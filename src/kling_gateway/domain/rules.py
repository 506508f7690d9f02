"""Cross-field request rules that the OpenAPI schema cannot express.

Everything a schema can say (types, enums, ranges, lengths, item counts) is in
``openapi/kling.yaml`` (and ``openapi/drafts/kling-more.yaml`` for the families not served
yet) and checked by Connexion before any of this runs. The rules here look at
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
LIP_SYNC_AUDIO_FIELDS = {"file": "audio_file", "url": "audio_url"}
MIN_SOUND_CROP_MS = 2000
TWO_PERSON_EFFECTS = frozenset({"hug", "kiss", "heart_gesture", "fight", "hug_pro", "kiss_pro",
                                "heart_gesture_pro", "fight_pro", "cheers_2026"})
MAX_EXPANDED_AREA = 3
OMNI_VIDEO_MAX_REFERENCES = {False: 7, True: 4}
"""Images plus elements, without and with a reference video."""
OMNI_VIDEO_DEFAULT_MODEL = "kling-video-o1"
OMNI_VIDEO_LONGEST = {"kling-video-o1": 10, "kling-v3-omni": 15}
OMNI_IMAGE_MAX_REFERENCES = 10
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def _present(body: Body, field: str) -> bool:
    """Kling treats an empty string, empty list or null like an absent field."""
    return body.get(field) not in (None, "", [], {})


def _exactly_one(body: Body, first: str, second: str, where: str = "") -> None:
    """Exactly one of two fields (of ``body``, found at ``where`` in the request) is given."""
    given = [f"{where}{field}" for field in (first, second) if _present(body, field)]
    if len(given) != 1:
        raise InvalidParameter(
            f"exactly one of '{where}{first}' and '{where}{second}' is required; got "
            + (" and ".join(repr(g) for g in given) if given else "neither"))


def _require(body: Body, fields: tuple[str, ...], where: str, when: str) -> None:
    for field in fields:
        if not _present(body, field):
            raise InvalidParameter(f"'{where}{field}' is required when {when}")


def _items(body: Body, field: str) -> list[Body]:
    return [item for item in body.get(field) or [] if isinstance(item, dict)]


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
    _exactly_one(body, "video_id", "video_url")


# ---- Rules of the families not served yet (openapi/drafts/kling-more.yaml) ----------------


def video_id_xor_video_url(body: Body) -> None:
    _exactly_one(body, "video_id", "video_url")


def audio_id_xor_sound_file(body: Body) -> None:
    _exactly_one(body, "audio_id", "sound_file")


def voice_url_xor_video_id(body: Body) -> None:
    _exactly_one(body, "voice_url", "video_id")


def lip_sync_input_video_id_xor_video_url(body: Body) -> None:
    _exactly_one(body.get("input") or {}, "video_id", "video_url", "input.")


def lip_sync_input_matches_mode(body: Body) -> None:
    """text2video speaks text in a voice (voice_language has defaults in Kling's clients, so
    it is not required); audio2video takes the audio audio_type names."""
    lip = body.get("input") or {}
    mode = lip.get("mode")
    if mode == "text2video":
        _require(lip, ("text", "voice_id"), "input.", "'input.mode' is 'text2video'")
    elif mode == "audio2video":
        _require(lip, ("audio_type",), "input.", "'input.mode' is 'audio2video'")
        audio = LIP_SYNC_AUDIO_FIELDS.get(lip["audio_type"])
        if audio:
            _require(lip, (audio,), "input.", f"'input.audio_type' is '{lip['audio_type']}'")


def face_choose_has_one_face(body: Body) -> None:
    count = len(body.get("face_choose") or [])
    if count != 1:
        raise InvalidParameter(
            f"'face_choose' takes exactly one face (one person per task); got {count}")


def face_choose_audio_id_xor_sound_file(body: Body) -> None:
    for index, face in enumerate(_items(body, "face_choose")):
        _exactly_one(face, "audio_id", "sound_file", f"face_choose[{index}].")


def face_choose_crop_is_2_seconds(body: Body) -> None:
    for index, face in enumerate(_items(body, "face_choose")):
        start, end = face.get("sound_start_time"), face.get("sound_end_time")
        if isinstance(start, int) and isinstance(end, int) and end - start < MIN_SOUND_CROP_MS:
            raise InvalidParameter(
                f"'face_choose[{index}].sound_end_time' - 'sound_start_time' must be at least "
                f"{MIN_SOUND_CROP_MS} ms; got {end - start}")


def effect_input_matches_scene(body: Body) -> None:
    """Two-person scenes take 2 pictures in ``images``; the scene list is open, so any other
    scene needs some picture (``image``, or ``images`` for a scene Kling adds later)."""
    scene, effect = body.get("effect_scene"), body.get("input") or {}
    if scene in TWO_PERSON_EFFECTS:
        count = len(effect.get("images") or [])
        if count != 2:
            raise InvalidParameter(
                f"effect_scene '{scene}' takes 2 pictures in 'input.images'; got {count}")
    elif not (_present(effect, "image") or _present(effect, "images")):
        raise InvalidParameter(f"'input.image' is required for effect_scene '{scene}'")


def effect_images_are_urls_or_raw_base64(body: Body) -> None:
    effect = body.get("input") or {}
    if isinstance(effect.get("image"), str) and effect["image"]:
        check_image_input(effect["image"], "input.image")
    for index, image in enumerate(effect.get("images") or []):
        if isinstance(image, str):
            check_image_input(image, f"input.images[{index}]")


def expansion_area_at_most_3x(body: Body) -> None:
    ratio = {side: body.get(f"{side}_expansion_ratio") or 0
             for side in ("up", "down", "left", "right")}
    area = (1 + ratio["left"] + ratio["right"]) * (1 + ratio["up"] + ratio["down"])
    if area > MAX_EXPANDED_AREA + 1e-9:
        raise InvalidParameter(
            f"the expanded image would have {area:g} times the original's area; "
            f"(1 + left + right) * (1 + up + down) of the '*_expansion_ratio' fields must be "
            f"at most {MAX_EXPANDED_AREA}")


def _references(body: Body) -> int:
    return len(body.get("image_list") or []) + len(body.get("element_list") or [])


def omni_video_reference_counts(body: Body) -> None:
    with_video = _present(body, "video_list")
    limit = OMNI_VIDEO_MAX_REFERENCES[with_video]
    if _references(body) > limit:
        raise InvalidParameter(
            f"'image_list' and 'element_list' hold {_references(body)} items together; at most "
            f"{limit}" + (" with a 'video_list'" if with_video else ""))


def _base_video(body: Body) -> bool:
    return any((video.get("refer_type") or "base") == "base"
               for video in _items(body, "video_list"))


def omni_video_frames(body: Body) -> None:
    types = [image.get("type") for image in _items(body, "image_list")]
    if not {"first_frame", "end_frame"} & set(types):
        return
    if "first_frame" not in types:
        raise InvalidParameter("an 'end_frame' in 'image_list' needs a 'first_frame'")
    if body.get("multi_shot") is True:
        raise InvalidParameter("frames in 'image_list' are not allowed when 'multi_shot' is true")
    if _base_video(body):
        raise InvalidParameter(
            "frames in 'image_list' are not allowed with a 'base' video in 'video_list' "
            "('refer_type' is base when absent)")


def omni_video_sound_off_with_video(body: Body) -> None:
    if _present(body, "video_list") and body.get("sound") == "on":
        raise InvalidParameter("'sound' must be 'off' when 'video_list' is given")


def omni_video_duration_fits_model(body: Body) -> None:
    """Only for the models known; a base video sets the length itself."""
    model = body.get("model_name") or OMNI_VIDEO_DEFAULT_MODEL
    longest = OMNI_VIDEO_LONGEST.get(model)
    if longest is None or not _present(body, "duration") or _base_video(body):
        return
    if int(body["duration"]) > longest:
        raise InvalidParameter(
            f"'duration' is \"3\" to \"{longest}\" on {model}; got \"{body['duration']}\"")


def omni_image_reference_count(body: Body) -> None:
    if _references(body) > OMNI_IMAGE_MAX_REFERENCES:
        raise InvalidParameter(
            f"'image_list' and 'element_list' hold {_references(body)} items together; at most "
            f"{OMNI_IMAGE_MAX_REFERENCES}")


def element_references_match_type(body: Body) -> None:
    kind = body.get("reference_type")
    if kind == "image_refer":
        images = body.get("element_image_list") or {}
        if not _present(images, "frontal_image"):
            raise InvalidParameter(
                "'element_image_list.frontal_image' is required when 'reference_type' is "
                "'image_refer'")
        if not images.get("refer_images"):
            raise InvalidParameter(
                "'element_image_list.refer_images' needs 1 to 3 images when 'reference_type' "
                "is 'image_refer'")
    elif kind == "video_refer" and not (body.get("element_video_list") or {}).get(
            "refer_videos"):
        raise InvalidParameter(
            "'element_video_list.refer_videos' needs 1 video when 'reference_type' is "
            "'video_refer'")


def element_images_are_urls_or_raw_base64(body: Body) -> None:
    images = body.get("element_image_list")
    if not isinstance(images, dict):
        return
    for field, value in _image_fields(images, ("frontal_image",), (("refer_images", "image_url"),)):
        check_image_input(value, f"element_image_list.{field}")


# ---- Which rules apply where --------------------------------------------------------------

CALL_RULES: dict[str, tuple[Rule, ...]] = {
    "init-selection": (selection_needs_one_video,),
    "identify-face": (video_id_xor_video_url,),
    "tts": (),
    "image-recognize": (images_rule("image"),),
}
"""The rules of the calls that are not tasks; a task family's rules are in its entry
(``domain.families``)."""

UNSERVED_FAMILY_RULES: dict[str, tuple[Rule, ...]] = {
    "video-extend": (),
    "lip-sync": (lip_sync_input_video_id_xor_video_url, lip_sync_input_matches_mode),
    "advanced-lip-sync": (face_choose_has_one_face, face_choose_audio_id_xor_sound_file,
                          face_choose_crop_is_2_seconds),
    "motion-control": (images_rule("image_url"),),
    "avatar": (audio_id_xor_sound_file, images_rule("image")),
    "video-to-audio": (video_id_xor_video_url,),
    "custom-voices": (voice_url_xor_video_id,),
    "custom-elements": (element_references_match_type, element_images_are_urls_or_raw_base64),
}
"""The rules of the families the contract describes (``openapi/drafts``) but the gateway does
not serve yet: each moves into its family's entry when the family is served."""


def check(operation: str, body: Body) -> None:
    """Apply every cross-field rule of ``operation`` to a body the schema already accepted."""
    for rule in CALL_RULES.get(operation, UNSERVED_FAMILY_RULES.get(operation, ())):
        rule(body)
