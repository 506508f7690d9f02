"""Cross-field request rules that the OpenAPI schema cannot express.

Everything a schema can say (types, enums, ranges, lengths, item counts) is in
``openapi/kling.yaml`` and checked by Connexion before any of this runs. The rules here look at
several fields at once, or at what a string contains. Each is a pure function over the request
body that raises ``InvalidParameter`` (code 1201, HTTP 400) with a message naming the fields.
A task family applies its rules through its entry (``domain.families``: ``TaskFamily.check``),
the other calls through ``check(operation, body)``; the simulator and the gateway alike.

``base`` holds the helpers and the image-input checks, ``videos`` the rules of the families
first served, ``tools`` those of the families served since.
"""

from __future__ import annotations

from kling_gateway.domain.rules.base import (
    MAX_IMAGE_BYTES,
    Body,
    Rule,
    check_image_input,
    images_rule,
)
from kling_gateway.domain.rules.tools import (
    audio_id_xor_sound_file,
    effect_images_are_urls_or_raw_base64,
    effect_input_matches_scene,
    element_images_are_urls_or_raw_base64,
    element_references_match_type,
    expansion_area_at_most_3x,
    face_choose_audio_id_xor_sound_file,
    face_choose_crop_is_2_seconds,
    face_choose_has_one_face,
    lip_sync_input_matches_mode,
    lip_sync_input_video_id_xor_video_url,
    omni_image_reference_count,
    omni_video_duration_fits_model,
    omni_video_frames,
    omni_video_reference_counts,
    omni_video_sound_off_with_video,
    video_id_xor_video_url,
    voice_url_xor_video_id,
)
from kling_gateway.domain.rules.videos import (
    camera_config_matches_type,
    edit_mode_image_count,
    end_frame_motion_brush_and_camera_are_exclusive,
    image2video_needs_a_frame,
    image_reference_needs_image,
    multi_shot_is_complete,
    negative_prompt_excludes_image,
    prompt_unless_custom_shots,
    selection_needs_one_video,
    voices_need_sound_and_exclude_elements,
)

__all__ = [
    "MAX_IMAGE_BYTES", "Body", "Rule", "audio_id_xor_sound_file", "camera_config_matches_type",
    "check", "check_image_input", "edit_mode_image_count",
    "effect_images_are_urls_or_raw_base64", "effect_input_matches_scene",
    "element_images_are_urls_or_raw_base64", "element_references_match_type",
    "end_frame_motion_brush_and_camera_are_exclusive", "expansion_area_at_most_3x",
    "face_choose_audio_id_xor_sound_file", "face_choose_crop_is_2_seconds",
    "face_choose_has_one_face", "image2video_needs_a_frame", "image_reference_needs_image",
    "images_rule", "lip_sync_input_matches_mode", "lip_sync_input_video_id_xor_video_url",
    "multi_shot_is_complete", "negative_prompt_excludes_image", "omni_image_reference_count",
    "omni_video_duration_fits_model", "omni_video_frames", "omni_video_reference_counts",
    "omni_video_sound_off_with_video", "prompt_unless_custom_shots", "selection_needs_one_video",
    "video_id_xor_video_url", "voice_url_xor_video_id", "voices_need_sound_and_exclude_elements",
]

CALL_RULES: dict[str, tuple[Rule, ...]] = {
    "init-selection": (selection_needs_one_video,),
    "identify-face": (video_id_xor_video_url,),
    "tts": (),
    "image-recognize": (images_rule("image"),),
}
"""The rules of the calls that are not tasks; a task family's rules are in its entry
(``domain.families``)."""

def check(operation: str, body: Body) -> None:
    """Apply every cross-field rule of ``operation`` to a body the schema already accepted."""
    for rule in CALL_RULES.get(operation, ()):
        rule(body)
