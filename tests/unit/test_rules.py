"""Each cross-field rule as a pure function: one body it accepts, one it refuses."""

from __future__ import annotations

import re

import pytest

from kling_gateway.domain import families, rules
from kling_gateway.domain.errors import InvalidParameter
from kling_gateway.web.spec import load_spec

URL = "https://example.com/a.png"
CASES = [
    (rules.image2video_needs_a_frame, {"image": URL}, {"image": ""}),
    (rules.end_frame_motion_brush_and_camera_are_exclusive,
     {"image_tail": URL, "static_mask": None}, {"image_tail": URL, "static_mask": URL}),
    (rules.camera_config_matches_type, {"camera_control": {"type": "forward_up", "config": None}},
     {"camera_control": {"type": "forward_up", "config": {}}}),
    (rules.camera_config_matches_type, {"camera_control": {"config": {"tilt": 2.5}}},
     {"camera_control": {"config": {"tilt": 2.5, "zoom": 1}}}),
    (rules.prompt_unless_custom_shots,
     {"multi_shot": True, "shot_type": "customize"}, {"multi_shot": True}),
    (rules.multi_shot_is_complete, {"multi_shot": False},
     {"multi_shot": True, "shot_type": "customize"}),
    (rules.multi_shot_is_complete,
     {"multi_shot": True, "shot_type": "customize", "duration": "10",
      "multi_prompt": [{"duration": "4"}, {"duration": "6"}]},
     {"multi_shot": True, "shot_type": "customize", "duration": "10",
      "multi_prompt": [{"duration": "4"}, {"duration": "5"}]}),
    (rules.voices_need_sound_and_exclude_elements,
     {"sound": "on", "voice_list": [{"voice_id": "a"}]},
     {"sound": "on", "voice_list": [{"voice_id": "a"}], "element_list": [{"element_id": 1}]}),
    (rules.image_reference_needs_image, {"image_reference": "face", "image": URL},
     {"image_reference": "face"}),
    (rules.negative_prompt_excludes_image, {"negative_prompt": "", "image": URL},
     {"negative_prompt": "x", "image": URL}),
    (rules.edit_mode_image_count, {"edit_mode": "removal", "image_list": []},
     {"edit_mode": "swap", "image_list": []}),
    (rules.selection_needs_one_video, {"video_id": "1", "video_url": ""},
     {"video_id": "1", "video_url": "https://x/v.mp4"}),
]
VIDEO = "https://example.com/v.mp4"
FACE = {"face_id": "0", "audio_id": "a1", "sound_start_time": 1000, "sound_end_time": 3000,
        "sound_insert_time": 0}
MORE_CASES = [  # the families served since the first ones
    (rules.video_id_xor_video_url, {"video_id": "", "video_url": VIDEO}, {}),
    (rules.video_id_xor_video_url, {"video_id": "1"}, {"video_id": "1", "video_url": VIDEO}),
    (rules.audio_id_xor_sound_file, {"audio_id": "a1", "sound_file": ""},
     {"audio_id": "a1", "sound_file": "https://x/a.mp3"}),
    (rules.voice_url_xor_video_id, {"voice_url": "https://x/a.mp3", "video_id": ""},
     {"voice_url": "", "video_id": ""}),
    (rules.lip_sync_input_video_id_xor_video_url, {"input": {"video_url": VIDEO}},
     {"input": {"video_id": "", "video_url": ""}}),
    (rules.lip_sync_input_matches_mode,
     {"input": {"mode": "text2video", "text": "hi", "voice_id": "uk_man2"}},
     {"input": {"mode": "text2video", "text": "hi"}}),
    (rules.lip_sync_input_matches_mode,
     {"input": {"mode": "audio2video", "audio_type": "url", "audio_url": "https://x/a.mp3"}},
     {"input": {"mode": "audio2video", "audio_type": "file", "audio_url": "https://x/a.mp3"}}),
    (rules.lip_sync_input_matches_mode, {"input": {"mode": "text2video", "text": "hi",
                                                   "voice_id": "a", "voice_language": ""}},
     {"input": {"mode": "audio2video"}}),
    (rules.face_choose_has_one_face, {"face_choose": [FACE]}, {"face_choose": [FACE, FACE]}),
    (rules.face_choose_audio_id_xor_sound_file, {"face_choose": [{**FACE, "sound_file": ""}]},
     {"face_choose": [{**FACE, "sound_file": "https://x/a.mp3"}]}),
    (rules.face_choose_crop_is_2_seconds, {"face_choose": [FACE]},
     {"face_choose": [{**FACE, "sound_end_time": 2999}]}),
    (rules.effect_input_matches_scene,
     {"effect_scene": "kiss_pro", "input": {"images": [URL, URL], "duration": "5"}},
     {"effect_scene": "hug", "input": {"image": URL, "duration": "5"}}),
    (rules.effect_input_matches_scene,
     {"effect_scene": "some_future_scene", "input": {"image": URL, "model_name": "kling-v1"}},
     {"effect_scene": "pet_lion", "input": {"image": "", "duration": "5"}}),
    (rules.effect_images_are_urls_or_raw_base64, {"input": {"images": [URL, "QUJD"]}},
     {"input": {"images": [URL, "data:image/png;base64,QUJD"]}}),
    (rules.expansion_area_at_most_3x,
     {"left_expansion_ratio": 0.5, "right_expansion_ratio": 0.5, "up_expansion_ratio": 0.25,
      "down_expansion_ratio": 0.25},
     {"left_expansion_ratio": 2, "up_expansion_ratio": 0.1}),
    (rules.omni_video_reference_counts,
     {"image_list": [{"image_url": URL}] * 3, "element_list": [{"element_id": 1}] * 4},
     {"image_list": [{"image_url": URL}] * 3, "element_list": [{"element_id": 1}] * 2,
      "video_list": [{"video_url": VIDEO, "refer_type": "feature"}]}),
    (rules.omni_video_frames,
     {"image_list": [{"image_url": URL, "type": "first_frame"}, {"image_url": URL}],
      "video_list": [{"video_url": VIDEO, "refer_type": "feature"}]},
     {"image_list": [{"image_url": URL, "type": "end_frame"}]}),
    (rules.omni_video_frames, {"image_list": [{"image_url": URL}], "video_list": [
        {"video_url": VIDEO}]},
     {"image_list": [{"image_url": URL, "type": "first_frame"}],
      "video_list": [{"video_url": VIDEO}]}),
    (rules.omni_video_frames, {"multi_shot": False,
                               "image_list": [{"image_url": URL, "type": "first_frame"}]},
     {"multi_shot": True, "image_list": [{"image_url": URL, "type": "first_frame"}]}),
    (rules.omni_video_sound_off_with_video, {"sound": "on", "video_list": []},
     {"sound": "on", "video_list": [{"video_url": VIDEO}]}),
    (rules.omni_video_duration_fits_model, {"model_name": "kling-v3-omni", "duration": "15"},
     {"duration": "15"}),
    (rules.omni_video_duration_fits_model,
     {"duration": "15", "video_list": [{"video_url": VIDEO, "refer_type": "base"}]},
     {"model_name": "kling-video-o1", "duration": "11"}),
    (rules.omni_image_reference_count,
     {"image_list": [{"image": URL}] * 5, "element_list": [{"element_id": "1"}] * 5},
     {"image_list": [{"image": URL}] * 6, "element_list": [{"element_id": 1}] * 5}),
    (rules.element_references_match_type,
     {"reference_type": "image_refer", "element_image_list": {
         "frontal_image": URL, "refer_images": [{"image_url": URL}]}},
     {"reference_type": "image_refer", "element_image_list": {"frontal_image": URL}}),
    (rules.element_references_match_type,
     {"reference_type": "video_refer", "element_image_list": {},
      "element_video_list": {"refer_videos": [{"video_url": VIDEO}]}},
     {"reference_type": "video_refer", "element_image_list": {
         "frontal_image": URL, "refer_images": [{"image_url": URL}]}}),
    (rules.element_images_are_urls_or_raw_base64,
     {"element_image_list": {"frontal_image": URL, "refer_images": [{"image_url": "QUJD"}]}},
     {"element_image_list": {"frontal_image": URL, "refer_images": [{"image_url": "?"}]}}),
]


@pytest.mark.parametrize(("rule", "accepted", "refused"), CASES + MORE_CASES,
                         ids=[f"{case[0].__name__}-{i}"
                              for i, case in enumerate(CASES + MORE_CASES)])
def test_rule(rule, accepted, refused):
    rule(accepted)
    with pytest.raises(InvalidParameter) as refusal:
        rule(refused)
    assert refusal.value.code == 1201 and refusal.value.status == 400


@pytest.mark.parametrize("value", [URL, "http://example.com/x.jpg", "QUJD", "QUI=", "QQ=="])
def test_image_input_accepts_urls_and_raw_base64(value):
    rules.check_image_input(value, "image")


@pytest.mark.parametrize(("value", "message"), [
    ("data:image/png;base64,QUJD", "strip"),
    ("DATA:image/jpeg;base64,QUJD", "strip"),
    ("QUJ", "URL or raw Base64"),
    ("not base64!", "URL or raw Base64"),
    ("//example.com/a.png", "URL or raw Base64"),
])
def test_image_input_refuses(value, message):
    with pytest.raises(InvalidParameter, match=message):
        rules.check_image_input(value, "image")


def test_image_input_size_limit_counts_decoded_bytes():
    groups = "A" * (rules.MAX_IMAGE_BYTES // 3 * 4)  # 3 bytes per 4 characters
    exactly_10_mb = groups + "AA=="  # one more byte: 10 * 1024 * 1024 == 3 * n + 1
    rules.check_image_input(exactly_10_mb, "image")
    with pytest.raises(InvalidParameter, match="10 MB"):
        rules.check_image_input(groups + "AAA=", "image")


def test_a_family_applies_its_own_rules_only():
    families.named("text2video").check({"prompt": "x", "image_reference": "face"})
    with pytest.raises(InvalidParameter):
        families.named("image-generation").check({"prompt": "x", "image_reference": "face"})


def test_an_empty_image_field_is_absent_but_an_empty_list_item_is_refused():
    families.named("image2video").check({"image": URL, "image_tail": ""})
    with pytest.raises(InvalidParameter, match=r"image_list\[0\]\.image"):
        families.named("multi-image2video").check({"image_list": [{"image": ""}]})


@pytest.mark.parametrize(("operation", "body", "field"), [
    ("omni-video", {"image_list": [{"image_url": URL}]}, "'prompt'"),
    ("omni-video", {"multi_shot": True, "shot_type": "intelligence"}, "'prompt'"),
    ("omni-video", {"prompt": "x", "image_list": [{"image_url": "data:,"}]},
     "image_list[0].image_url"),
    ("kolors-virtual-try-on", {"human_image": URL, "cloth_image": "data:,"}, "cloth_image"),
    ("avatar", {"image": URL}, "'audio_id' and 'sound_file'"),
    ("custom-voices", {"voice_name": "n", "voice_url": "", "video_id": ""},
     "'voice_url' and 'video_id'"),
    ("identify-face", {"video_id": "1", "video_url": VIDEO}, "'video_id' and 'video_url'"),
    ("image-recognize", {"image": "not base64!"}, "'image'"),
    ("custom-elements", {"reference_type": "image_refer", "element_image_list": {
        "frontal_image": "data:,", "refer_images": [{"image_url": URL}]}},
     "element_image_list.frontal_image"),
])
def test_the_new_families_apply_their_rules(operation, body, field):
    with pytest.raises(InvalidParameter, match=re.escape(field)):
        _check(operation, body)


def _check(operation: str, body: dict) -> None:
    """A served family's rules are in its entry; other calls' rules are in ``rules``."""
    if operation in {family.name for family in families.FAMILIES}:
        families.named(operation).check(body)
    else:
        rules.check(operation, body)


def test_the_new_families_accept_their_examples():
    """Each create example of the new groups passes its family's rules."""
    served = {family.path for family in families.FAMILIES[:6]}
    creates = {path.removeprefix("/v1/").split("/", 1)[1]: item["post"]
               for path, item in load_spec()["paths"].items()
               if "post" in item and path.startswith("/v1/") and path not in served
               and "multi-elements" not in path}
    names = {"editing/expand": "image-expand", "avatar/image2video": "avatar",
             "advanced-custom-elements": "custom-elements", "delete-voices": None,
             "delete-elements": None}
    for tail, operation in creates.items():
        family = names.get(tail, tail)
        if family is None:
            continue
        example = operation["requestBody"]["content"]["application/json"]["example"]
        _check(family, example)
