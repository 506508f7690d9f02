"""Each cross-field rule as a pure function: one body it accepts, one it refuses."""

from __future__ import annotations

import pytest

from kling_gateway.domain import families, rules
from kling_gateway.domain.errors import InvalidParameter

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


@pytest.mark.parametrize(("rule", "accepted", "refused"), CASES,
                         ids=[f"{case[0].__name__}-{i}" for i, case in enumerate(CASES)])
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
