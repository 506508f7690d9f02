"""Every request rule of the contract, over HTTP: one request that passes, one that fails (1201).

Rules the schema states (counts, ranges) are enforced by the spec; cross-field rules by
kling_gateway.domain.rules. The client cannot tell the difference, and these tests don't either.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.bodies import IMAGE_BASE64, IMAGE_URL

I2V = "/v1/videos/image2video"
T2V = "/v1/videos/text2video"
MI2V = "/v1/videos/multi-image2video"
IMG = "/v1/images/generations"
MI2I = "/v1/images/multi-image2image"
ME = "/v1/videos/multi-elements"
SIMPLE_ZOOM = {"type": "simple", "config": {"horizontal": 0, "vertical": 0, "pan": 0, "tilt": 0,
                                            "roll": 0, "zoom": 5}}
MASK = {"mask": IMAGE_URL, "trajectories": [{"x": 10, "y": 10}, {"x": 50, "y": 80}]}
SESSION = "<session>"


@dataclass(frozen=True)
class Rule:
    name: str
    path: str
    passing: dict[str, Any]
    failing: dict[str, Any]
    message: str

    def __str__(self) -> str:
        return self.name


def i2v(**fields: Any) -> dict[str, Any]:
    return {"prompt": "move", **fields}


def me(edit_mode: str, images: int) -> dict[str, Any]:
    return {"session_id": SESSION, "edit_mode": edit_mode, "prompt": "edit <<<video_1>>>",
            "image_list": [{"image": IMAGE_URL}] * images}


def points(count: int, x: float = 0.5, y: float = 0.5) -> dict[str, Any]:
    return {"session_id": SESSION, "frame_index": 0, "points": [{"x": x, "y": y}] * count}


RULES = [
    Rule("image2video needs image or image_tail", I2V,
         i2v(image_tail=IMAGE_URL), i2v(), "'image' and 'image_tail'"),
    Rule("image_tail excludes camera_control", I2V,
         i2v(image=IMAGE_URL, image_tail=IMAGE_URL),
         i2v(image=IMAGE_URL, image_tail=IMAGE_URL, camera_control=SIMPLE_ZOOM), "only one of"),
    Rule("image_tail excludes the motion brush", I2V,
         i2v(image=IMAGE_URL, static_mask=IMAGE_URL),
         i2v(image=IMAGE_URL, image_tail=IMAGE_URL, static_mask=IMAGE_URL), "only one of"),
    Rule("motion brush excludes camera_control", I2V,
         i2v(image=IMAGE_URL, dynamic_masks=[MASK]),
         i2v(image=IMAGE_URL, dynamic_masks=[MASK], camera_control=SIMPLE_ZOOM), "only one of"),
    Rule("camera config is required for simple", I2V,
         i2v(image=IMAGE_URL, camera_control=SIMPLE_ZOOM),
         i2v(image=IMAGE_URL, camera_control={"type": "simple"}), "'camera_control.config'"),
    Rule("camera config is absent for preset moves", T2V,
         {"prompt": "x", "camera_control": {"type": "down_back"}},
         {"prompt": "x", "camera_control": {"type": "down_back", "config": {"zoom": 1}}},
         "'camera_control.config' must be absent"),
    Rule("exactly one camera axis moves", T2V,
         {"prompt": "x", "camera_control": {"type": "simple", "config": {"pan": -3}}},
         {"prompt": "x", "camera_control": {"type": "simple", "config": {"pan": 1, "tilt": 1}}},
         "exactly one"),
    Rule("camera axis must move at all", T2V,
         {"prompt": "x", "camera_control": {"type": "simple", "config": {"roll": 10}}},
         {"prompt": "x", "camera_control": {"type": "simple", "config": {"roll": 0}}},
         "exactly one"),
    Rule("camera axes stay within [-10, 10]", T2V,
         {"prompt": "x", "camera_control": {"type": "simple", "config": {"zoom": -10}}},
         {"prompt": "x", "camera_control": {"type": "simple", "config": {"zoom": -10.5}}},
         "camera_control.config.zoom"),
    Rule("at most 6 dynamic masks", I2V,
         i2v(image=IMAGE_URL, dynamic_masks=[MASK] * 6),
         i2v(image=IMAGE_URL, dynamic_masks=[MASK] * 7), "dynamic_masks"),
    Rule("a trajectory has at least 2 points", I2V,
         i2v(image=IMAGE_URL, dynamic_masks=[{**MASK, "trajectories": [{"x": 1, "y": 1}] * 2}]),
         i2v(image=IMAGE_URL, dynamic_masks=[{**MASK, "trajectories": [{"x": 1, "y": 1}]}]),
         "dynamic_masks[0].trajectories"),
    Rule("a trajectory has at most 77 points", I2V,
         i2v(image=IMAGE_URL, dynamic_masks=[{**MASK, "trajectories": [{"x": 1, "y": 1}] * 77}]),
         i2v(image=IMAGE_URL, dynamic_masks=[{**MASK, "trajectories": [{"x": 1, "y": 1}] * 78}]),
         "dynamic_masks[0].trajectories"),
    Rule("multi-image2video takes at least 1 image", MI2V,
         {"prompt": "x", "image_list": [{"image": IMAGE_URL}]},
         {"prompt": "x", "image_list": []}, "image_list"),
    Rule("multi-image2video takes at most 4 images", MI2V,
         {"prompt": "x", "image_list": [{"image": IMAGE_URL}] * 4},
         {"prompt": "x", "image_list": [{"image": IMAGE_URL}] * 5}, "image_list"),
    Rule("image_reference requires image", IMG,
         {"prompt": "x", "image": IMAGE_URL, "image_reference": "subject"},
         {"prompt": "x", "image_reference": "face"}, "'image_reference' requires 'image'"),
    Rule("negative_prompt is not allowed with image", IMG,
         {"prompt": "x", "negative_prompt": "blur"},
         {"prompt": "x", "negative_prompt": "blur", "image": IMAGE_URL}, "'negative_prompt'"),
    Rule("multi-image2image takes at least 1 subject", MI2I,
         {"subject_image_list": [{"subject_image": IMAGE_URL}]},
         {"subject_image_list": []}, "subject_image_list"),
    Rule("multi-image2image takes at most 4 subjects", MI2I,
         {"subject_image_list": [{"subject_image": IMAGE_URL}] * 4},
         {"subject_image_list": [{"subject_image": IMAGE_URL}] * 5}, "subject_image_list"),
    Rule("addition takes 1 or 2 images", ME, me("addition", 2), me("addition", 0), "addition"),
    Rule("swap takes exactly 1 image", ME, me("swap", 1), me("swap", 2), "swap"),
    Rule("removal takes no image", ME, me("removal", 0), me("removal", 1), "removal"),
    Rule("init-selection needs video_id or video_url", f"{ME}/init-selection",
         {"video_url": "https://example.com/v.mp4"}, {}, "neither"),
    Rule("init-selection takes only one of video_id and video_url", f"{ME}/init-selection",
         {"video_url": "https://example.com/v.mp4"},
         {"video_url": "https://example.com/v.mp4", "video_id": "123"}, "exactly one"),
    Rule("add-selection takes at most 10 points", f"{ME}/add-selection",
         points(10), points(11), "points"),
    Rule("selection points have x in [0, 1]", f"{ME}/add-selection",
         points(1, x=1.0), points(1, x=1.01), "points[0].x"),
    Rule("selection points have y in [0, 1]", f"{ME}/delete-selection",
         points(1, y=0.0), points(1, y=-0.1), "points[0].y"),
    Rule("an image is a URL or raw Base64", I2V,
         i2v(image=IMAGE_BASE64), i2v(image="ftp://example.com/a.png"), "URL or raw Base64"),
    Rule("a data: URI prefix must be stripped", MI2V,
         {"prompt": "x", "image_list": [{"image": IMAGE_BASE64}]},
         {"prompt": "x", "image_list": [{"image": f"data:image/png;base64,{IMAGE_BASE64}"}]},
         "strip"),
    Rule("Base64 images are at most 10 MB", IMG,
         {"prompt": "x", "image": base64.b64encode(b"\0" * (10 * 1024 * 1024)).decode()},
         {"prompt": "x", "image": base64.b64encode(b"\0" * (10 * 1024 * 1024 + 1)).decode()},
         "more than 10 MB"),
    Rule("text2video needs a prompt", T2V, {"prompt": "x"}, {"prompt": ""}, "'prompt'"),
    Rule("multi-shot needs a shot_type", T2V,
         {"prompt": "x", "multi_shot": True, "shot_type": "intelligence"},
         {"prompt": "x", "multi_shot": True}, "'shot_type'"),
    Rule("customized shots add up to the duration", T2V,
         {"multi_shot": True, "shot_type": "customize", "duration": "5",
          "multi_prompt": [{"index": 1, "prompt": "a", "duration": "2"},
                           {"index": 2, "prompt": "b", "duration": "3"}]},
         {"multi_shot": True, "shot_type": "customize", "duration": "5",
          "multi_prompt": [{"index": 1, "prompt": "a", "duration": "2"}]}, "add up to"),
    Rule("voice_list needs sound on", I2V,
         i2v(image=IMAGE_URL, sound="on", voice_list=[{"voice_id": "voice-1"}]),
         i2v(image=IMAGE_URL, voice_list=[{"voice_id": "voice-1"}]), "'sound'"),
    # Open model names: any well-formed name, so a model released later works (issue 15).
    Rule("model_name is any well-formed name", T2V,
         {"prompt": "x", "model_name": "kling-v9.5-turbo"},
         {"prompt": "x", "model_name": "Kling-V1"}, "'model_name': must be lower-case"),
    Rule("model_name has no stray separators", IMG,
         {"prompt": "x", "model_name": "kling-image-o1"},
         {"prompt": "x", "model_name": "kling--v1"}, "'model_name'"),
    Rule("model_name is at most 64 characters", MI2I,
         {"subject_image_list": [{"subject_image": IMAGE_URL}], "model_name": "k" * 64},
         {"subject_image_list": [{"subject_image": IMAGE_URL}], "model_name": "k" * 65},
         "'model_name'"),
    # Value forms Kling's own examples and public clients send (issue 15).
    Rule("n is 1 to 9, as a number or a string", IMG,
         {"prompt": "x", "n": "9"}, {"prompt": "x", "n": "ten"},
         "'n': must be 1 to 9, as a number or a string"),
    Rule("n as a string is 1 to 9 too", MI2I,
         {"subject_image_list": [{"subject_image": IMAGE_URL}], "n": "1"},
         {"subject_image_list": [{"subject_image": IMAGE_URL}], "n": "0"}, "'n'"),
    Rule("duration is a listed length, as a string or a number", T2V,
         {"prompt": "x", "duration": 10}, {"prompt": "x", "duration": 16},
         "'duration': must be \"3\" to \"15\""),
    Rule("a short duration is 5 or 10, as a string or a number", MI2V,
         {"prompt": "x", "image_list": [{"image": IMAGE_URL}], "duration": 10},
         {"prompt": "x", "image_list": [{"image": IMAGE_URL}], "duration": 7}, "'duration'"),
    Rule("a duration is not a fraction", I2V,
         i2v(image=IMAGE_URL, duration=5), i2v(image=IMAGE_URL, duration=5.5), "'duration'"),
    Rule("multi_shot is a boolean or 'true'/'false'", I2V,
         i2v(image=IMAGE_URL, multi_shot="false"), i2v(image=IMAGE_URL, multi_shot="yes"),
         "'multi_shot'"),
    Rule("multi_shot 'true' brings the multi-shot rules", T2V,
         {"prompt": "x", "multi_shot": "true", "shot_type": "intelligence"},
         {"prompt": "x", "multi_shot": "true"}, "'shot_type'"),
    Rule("a shot's duration is a string or a number", T2V,
         {"multi_shot": "true", "shot_type": "customize", "duration": 5,
          "multi_prompt": [{"index": 1, "prompt": "a", "duration": 2},
                           {"index": 2, "prompt": "b", "duration": "3"}]},
         {"multi_shot": "true", "shot_type": "customize", "duration": 5,
          "multi_prompt": [{"index": 1, "prompt": "a", "duration": "two"}]},
         "'multi_prompt[0].duration'"),
    Rule("numeric shot durations add up too", T2V,
         {"multi_shot": True, "shot_type": "customize", "duration": "5",
          "multi_prompt": [{"index": 1, "prompt": "a", "duration": 5}]},
         {"multi_shot": True, "shot_type": "customize", "duration": 10,
          "multi_prompt": [{"index": 1, "prompt": "a", "duration": 5}]}, "add up to"),
    Rule("element_id is a number or a string of digits", IMG,
         {"prompt": "x", "element_list": [{"element_id": "160"}, {"element_id": 161}]},
         {"prompt": "x", "element_list": [{"element_id": "16O"}]},
         "'element_list[0].element_id'"),
]


def _with_session(sim, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("session_id") != SESSION:
        return body
    opened = sim.api.post(f"{ME}/init-selection", {"video_url": "https://example.com/v.mp4"})
    return {**body, "session_id": opened.json()["data"]["session_id"]}


@pytest.mark.parametrize("rule", RULES, ids=str)
def test_rule_accepts_a_valid_request(start_simulator, rule: Rule):
    sim = start_simulator(concurrency=100)
    body = _with_session(sim, rule.passing)
    if rule.path.endswith("delete-selection"):  # only added points can be deleted
        assert sim.api.post(f"{ME}/add-selection", body).status_code == 200
    answer = sim.api.post(rule.path, body)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("rule", RULES, ids=str)
def test_rule_rejects_a_violation_with_1201(start_simulator, rule: Rule):
    sim = start_simulator(concurrency=100)
    answer = sim.api.post(rule.path, _with_session(sim, rule.failing))
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == 1201
    assert rule.message in answer.json()["message"]
