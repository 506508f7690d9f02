"""Rules of the families served since: lip-sync, effects, expansion, omni video and image,
avatar, audio, voices and elements."""

from __future__ import annotations

from kling_gateway.domain.errors import InvalidParameter
from kling_gateway.domain.rules.base import (
    Body,
    _exactly_one,
    _image_fields,
    _items,
    _present,
    _require,
    check_image_input,
)

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
