"""Avatar through the gateway: a picture speaking the caller's TTS audio, charged per second
of that audio's length as its TTS answer said (a sound file: for the longest audio it may
speak, settled to the video it made);
another user's audio is answered as Kling answers an unknown id and never reaches upstream;
a failed task is refunded once."""

from __future__ import annotations

import math

from kling_gateway.domain.owned import Resource
from kling_gateway.storage import owned
from tests.support.bodies import IMAGE_URL
from tests.support.gateway import CNY

AVATAR = "/v1/videos/avatar/image2video"
TTS = "/v1/audio/tts"
TTS_PRICE = 500  # ¥0.05 a call


def _speech(api) -> dict:
    answer = api.post(TTS, {"text": "Hello and welcome to the evening news from the harbour",
                            "voice_id": "oversea_male1", "voice_language": "en"})
    assert answer.status_code == 200, answer.text
    (audio,) = answer.json()["data"]["task_result"]["audios"]
    return audio


def _cost(audio: dict, per_second: int) -> int:
    return math.ceil(float(audio["duration"])) * per_second  # a started second counts whole


def test_an_avatar_speaking_the_callers_tts_audio_is_charged_its_length(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    audio = _speech(ada.key)
    assert owned.find(Resource.AUDIO, audio["id"]).seconds == float(audio["duration"])
    kept = _cost(audio, 8_000)  # ¥0.80 a second in pro
    created = ada.key.create(AVATAR, {"image": IMAGE_URL, "audio_id": audio["id"],
                                      "mode": "pro", "external_task_id": "ada-avatar"})
    assert created["gateway_charge"]["amount"] == f"{kept / CNY:.2f}"
    gateway.finish_upstream_tasks()

    done = ada.key.get(f"{AVATAR}/{created['task_id']}").json()["data"]
    assert done["task_status"] == "succeed", done
    (video,) = done["task_result"]["videos"]
    assert video["duration"] == audio["duration"]  # as long as the audio it speaks
    assert done["gateway_charge"] == {"amount": f"{kept / CNY:.2f}", "currency": "CNY",
                                      "refunded": False}
    assert ada.jwt.get(f"{AVATAR}/ada-avatar").json()["data"]["task_id"] == created["task_id"]
    assert [t["task_id"] for t in ada.key.get(AVATAR).json()["data"]] == [created["task_id"]]
    ada.key.get(f"{AVATAR}/{created['task_id']}")  # read again: no change
    assert gateway.charges("refund") == []  # charged what it made: nothing to settle
    assert ada.balance == 1000 * CNY - TTS_PRICE - kept
    gateway.assert_books_balance()


def test_another_users_audio_is_unknown_and_never_reaches_upstream(gateway):
    sim = gateway.add_upstream("sim")
    ada, bob = gateway.tenant("ada"), gateway.tenant("bob")
    audio = _speech(ada.key)
    jobs = len(sim.jobs())
    answer = bob.key.post(AVATAR, {"image": IMAGE_URL, "audio_id": audio["id"]})
    assert (answer.status_code, answer.json()["code"]) == (400, 1201), answer.text
    assert "'audio_id'" in answer.json()["message"], answer.text
    both = bob.key.post(AVATAR, {"image": IMAGE_URL, "audio_id": audio["id"],
                                 "sound_file": "https://example.com/audio/a.mp3"})
    assert (both.status_code, both.json()["code"]) == (400, 1201), both.text
    assert len(sim.jobs()) == jobs  # nothing reached upstream
    assert bob.balance == 1000 * CNY
    gateway.assert_books_balance()


def test_a_failed_avatar_is_refunded_once(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    audio = _speech(ada.key)
    task_id = ada.key.create(AVATAR, {"image": IMAGE_URL, "audio_id": audio["id"],
                                      "prompt": "nod gently #sim-fail"})["task_id"]
    gateway.finish_upstream_tasks()
    failed = ada.key.get(f"{AVATAR}/{task_id}").json()["data"]
    assert failed["task_status"] == "failed" and failed["task_status_msg"]
    ada.key.get(f"{AVATAR}/{task_id}")
    refunds = [(entry.task_id, entry.amount) for entry in gateway.charges("refund")]
    assert refunds == [(task_id, _cost(audio, 4_000))]  # std: ¥0.40 a second
    assert ada.balance == 1000 * CNY - TTS_PRICE
    gateway.assert_books_balance()
