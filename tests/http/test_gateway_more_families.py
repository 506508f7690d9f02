"""The task families served beside the first six (effects, omni video, virtual try-on, image
expansion, omni image, text to audio), each driven through the gateway as a Kling client would:
created, found by task_id and by external_task_id, listed, billed at Kling's list price,
invisible to another user, refunded once when it fails, with result files of the right kind."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import requests

from tests.support.bodies import IMAGE_URL
from tests.support.gateway import CNY

VIDEO_URL = "https://example.com/videos/dance.mp4"


@dataclass(frozen=True)
class Case:
    path: str
    body: dict[str, Any]
    key: str
    cny: str
    result: str
    """What ``task_result`` holds: videos, sounded videos, images or audios."""
    count: int = 1
    seconds: str = "5"
    """The length of the video made (the simulator takes a reference video as 5 s)."""


CASES = {
    "effects": Case("/v1/videos/effects",
                    {"effect_scene": "bullet_time", "input": {"image": IMAGE_URL, "duration": 5}},
                    "kling-effects", "2.00", "videos"),
    "omni-video": Case("/v1/videos/omni-video",
                       {"model_name": "kling-v3-omni", "prompt": "a lighthouse at dusk",
                        "mode": "std", "duration": "7", "sound": "on", "aspect_ratio": "16:9"},
                       "kling-omni-video_kling-v3-omni_std_sound", "5.60", "sounded videos",
                       seconds="7"),
    "kolors-virtual-try-on": Case("/v1/images/kolors-virtual-try-on",
                                  {"human_image": IMAGE_URL, "cloth_image": IMAGE_URL},
                                  "kling-virtual-try-on_kolors-virtual-try-on-v1", "0.50",
                                  "images"),
    "image-expand": Case("/v1/images/editing/expand",
                         {"image": IMAGE_URL, "up_expansion_ratio": 0.5,
                          "down_expansion_ratio": 0, "left_expansion_ratio": 0.2,
                          "right_expansion_ratio": 0.2, "n": 2},
                         "kling-image-expand", "0.40", "images", count=2),
    "omni-image": Case("/v1/images/omni-image",
                       {"model_name": "kling-v3-omni", "prompt": "a red kite", "n": 2,
                        "resolution": "4k"},
                       "kling-omni-image_kling-v3-omni_4k", "0.80", "images", count=2),
    # Charged for the longest it may make (10 s with the image's orientation), settled below.
    "motion-control": Case("/v1/videos/motion-control",
                           {"image_url": IMAGE_URL, "video_url": VIDEO_URL, "mode": "std",
                            "character_orientation": "image"},
                           "kling-motion-control_kling-v2-6_std", "5.00", "sounded videos"),
    # Charged for the longest audio it may speak (300 s), settled (test_gateway_avatar.py).
    "avatar": Case("/v1/videos/avatar/image2video",
                   {"image": IMAGE_URL, "sound_file": "https://example.com/audio/hello.mp3",
                    "prompt": "a warm greeting", "mode": "std"},
                   "kling-avatar_std", "120.00", "sounded videos"),
    "text-to-audio": Case("/v1/audio/text-to-audio",
                          {"prompt": "rain on a tin roof", "duration": 5.5},
                          "kling-text-to-audio", "0.25", "audios"),
}


def amount(cny: str) -> int:
    return int(Decimal(cny) * CNY)


def _failing(case: Case) -> dict[str, Any]:
    """The case's body with the simulator's failure marker where this family carries text."""
    body = dict(case.body)
    if "prompt" in body:
        body["prompt"] += " #sim-fail"
    elif "input" in body:
        body["input"] = {**body["input"], "image": f"{IMAGE_URL}#sim-fail"}
    else:
        body["human_image"] = f"{IMAGE_URL}#sim-fail"
    return body


@pytest.mark.parametrize("family", CASES)
def test_a_new_family_is_created_found_listed_billed_and_private(gateway, family):
    case = CASES[family]
    gateway.add_upstream("sim")
    ada, bob = gateway.tenant("ada"), gateway.tenant("bob")

    created = ada.key.post(case.path, {**case.body, "external_task_id": f"ada-{family}"})
    assert created.status_code == 200, created.text
    answer = created.json()
    assert answer["code"] == 0 and answer["data"]["task_status"] == "submitted"
    task_id = answer["data"]["task_id"]
    gateway.finish_upstream_tasks()

    by_id = ada.key.get(f"{case.path}/{task_id}").json()["data"]
    by_external = ada.jwt.get(f"{case.path}/ada-{family}").json()["data"]
    assert by_id["task_status"] == "succeed", by_id
    assert by_external["task_id"] == task_id
    assert by_id["task_info"]["external_task_id"] == f"ada-{family}"
    _check_result(case, by_id["task_result"])

    listed = ada.key.get(case.path, pageNum=1, pageSize=30).json()["data"]
    assert [task["task_id"] for task in listed] == [task_id]
    charges = [(entry.task_id, entry.price_key, -entry.amount) for entry in gateway.charges()]
    assert charges == [(task_id, case.key, amount(case.cny))]

    # Another user neither sees nor finds it, and is not charged for trying.
    for reference in (task_id, f"ada-{family}"):
        foreign = bob.key.get(f"{case.path}/{reference}")
        assert foreign.status_code == 404 and foreign.json()["code"] == 1203, foreign.text
    assert bob.key.get(case.path).json()["data"] == []
    assert bob.balance == 1000 * CNY
    gateway.assert_books_balance()


@pytest.mark.parametrize("family", CASES)
def test_a_new_family_that_fails_upstream_is_refunded_once(gateway, family):
    case = CASES[family]
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    task_id = ada.key.create(case.path, _failing(case))["task_id"]
    gateway.finish_upstream_tasks()

    failed = ada.key.get(f"{case.path}/{task_id}").json()["data"]
    assert failed["task_status"] == "failed" and failed["task_status_msg"]
    ada.key.get(f"{case.path}/{task_id}")  # a second read refunds nothing more
    refunds = [(entry.task_id, entry.amount) for entry in gateway.charges("refund")]
    assert refunds == [(task_id, amount(case.cny))]
    assert ada.balance == 1000 * CNY
    gateway.assert_books_balance()


def _check_result(case: Case, result: dict[str, Any]) -> None:
    if case.result == "images":
        images = result["images"]
        assert [image["index"] for image in images] == list(range(case.count))
        assert _download(images[0]["url"]).startswith(b"\x89PNG\r\n\x1a\n")
    elif case.result == "audios":
        (audio,) = result["audios"]
        assert audio["duration_mp3"] == audio["duration_wav"] == "5.5"
        mp3, wav = _download(audio["url_mp3"]), _download(audio["url_wav"])
        assert mp3[:2] == b"\xff\xfb"  # an MPEG-1 Layer III frame, no ID3 tag
        assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    else:
        (video,) = result["videos"]
        data = _download(video["url"])
        assert data[4:8] == b"ftyp"
        # Kling's video with sound carries a sound track; a silent one has none.
        assert (b"soun" in data) == (case.result == "sounded videos")
        assert video["duration"] == case.seconds


def _download(url: str) -> bytes:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, url
    return response.content


def test_a_video_kling_sizes_by_its_reference_is_settled_to_what_it_made(gateway):
    """Motion control is charged for the longest video its reference may give (30 s when
    the character follows the video), and what the output did not use comes back once."""
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    body = {"model_name": "kling-v3", "image_url": IMAGE_URL, "video_url": VIDEO_URL,
            "mode": "pro", "character_orientation": "video"}
    created = ada.key.create("/v1/videos/motion-control", body)
    assert created["gateway_charge"]["amount"] == "36.00"  # 30 s at ¥1.20
    assert ada.balance == (1000 - 36) * CNY
    gateway.finish_upstream_tasks()

    done = ada.key.get(f"/v1/videos/motion-control/{created['task_id']}").json()["data"]
    assert done["task_status"] == "succeed" and done["task_result"]["videos"][0]["duration"] == "5"
    assert done["gateway_charge"] == {"amount": "6.00", "currency": "CNY", "refunded": False}
    ada.key.get(f"/v1/videos/motion-control/{created['task_id']}")  # read again: no change
    refunds = [(entry.task_id, entry.amount) for entry in gateway.charges("refund")]
    assert refunds == [(created["task_id"], 30 * CNY)]
    assert ada.balance == (1000 - 6) * CNY
    gateway.assert_books_balance()
