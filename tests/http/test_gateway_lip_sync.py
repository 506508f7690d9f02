"""Lip-sync and the video tools through the gateway: video extension, legacy lip-sync, video
to audio, identify face and advanced lip-sync. Each is created, found by task_id and by
external_task_id, listed, billed at Kling's list price, refunded once when it fails, and
private: another user's video, face session or audio is answered as Kling answers an unknown
id and never reaches upstream, and a task working on a video goes to the channel that made it.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from kling_gateway.domain.owned import Resource
from kling_gateway.storage import owned
from tests.support.gateway import CNY

T2V = "/v1/videos/text2video"
EXTEND = "/v1/videos/video-extend"
LIP_SYNC = "/v1/videos/lip-sync"
TO_AUDIO = "/v1/audio/video-to-audio"
IDENTIFY = "/v1/videos/identify-face"
ADVANCED = "/v1/videos/advanced-lip-sync"
TEXT_TO_AUDIO = "/v1/audio/text-to-audio"
VIDEO_URL = "https://example.com/videos/interview.mp4"
T2V_CNY = 5  # the brief's kling-v1 std 5 s


def made_video(gateway, api, **body: Any) -> dict[str, Any]:
    """A finished text2video video of the caller (kling-v1, 5 s)."""
    task = api.create(T2V, {"prompt": "a lighthouse", **body})
    gateway.finish_upstream_tasks()
    done = api.get(f"{T2V}/{task['task_id']}").json()["data"]
    return done["task_result"]["videos"][0]


def speech(video_id: str) -> dict[str, Any]:
    return {"video_id": video_id, "mode": "text2video", "text": "Hello there",
            "voice_id": "oversea_male1", "voice_language": "en"}


def face_choice(face_id: str = "0", **audio: Any) -> dict[str, Any]:
    return {"face_id": face_id, "sound_start_time": 0, "sound_end_time": 3000,
            "sound_insert_time": 1000, **(audio or {"sound_file": "https://x.example/a.mp3"})}


def _download(url: str) -> bytes:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, url
    return response.content


def _follow(gateway, api, path: str, body: dict[str, Any], external: str) -> dict[str, Any]:
    """Create, finish, and find it by id, by external id and in the list: the finished task."""
    created = api.post(path, {**body, "external_task_id": external})
    assert created.status_code == 200, created.text
    task_id = created.json()["data"]["task_id"]
    gateway.finish_upstream_tasks()
    by_id = api.get(f"{path}/{task_id}").json()["data"]
    assert by_id["task_status"] == "succeed", by_id
    assert api.get(f"{path}/{external}").json()["data"]["task_id"] == task_id
    assert by_id["task_info"]["external_task_id"] == external
    assert [task["task_id"] for task in api.get(path).json()["data"]] == [task_id]
    return by_id


def _charged(gateway, task_id: str) -> tuple[str, int]:
    (entry,) = [entry for entry in gateway.charges() if entry.task_id == task_id]
    return entry.price_key, -entry.amount


def _assert_sounded_video(video: dict[str, Any], duration: str) -> None:
    data = _download(video["url"])
    assert data[4:8] == b"ftyp" and b"soun" in data
    assert video["duration"] == duration


def test_video_extend_is_billed_by_the_mode_of_its_source_and_reports_it(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    video = made_video(gateway, ada.key, mode="pro")
    extended = _follow(gateway, ada.key, EXTEND, {"video_id": video["id"],
                                                  "prompt": "keep flying"}, "ada-extend")
    assert extended["task_info"]["parent_video"] == {
        "id": video["id"], "url": video["url"], "duration": "5"}
    (longer,) = extended["task_result"]["videos"]
    assert longer["duration"] == "10" and _download(longer["url"])[4:8] == b"ftyp"
    assert _charged(gateway, extended["task_id"]) == ("kling-video-extend_pro", 35_000)

    # An extension is a video of its own, and can be extended again, in the same mode.
    again = ada.key.create(EXTEND, {"video_id": longer["id"]})
    assert _charged(gateway, again["task_id"]) == ("kling-video-extend_pro", 35_000)
    gateway.assert_books_balance()


def test_lip_sync_of_an_own_video_is_billed_per_started_5_s(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    video = made_video(gateway, ada.jwt)
    done = _follow(gateway, ada.jwt, LIP_SYNC, {"input": speech(video["id"])}, "ada-lips")
    _assert_sounded_video(done["task_result"]["videos"][0], "5")
    assert "parent_video" not in done["task_info"]  # Kling documents none for this one
    assert _charged(gateway, done["task_id"]) == ("kling-lip-sync", 5_000)  # one 5 s block


def test_lip_sync_of_a_video_by_url_is_billed_per_call(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    body = {"input": {"video_url": VIDEO_URL, "video_id": "", "mode": "audio2video",
                      "audio_type": "url", "audio_url": "https://x.example/a.mp3"}}
    task = ada.key.create(LIP_SYNC, body)
    assert _charged(gateway, task["task_id"]) == ("kling-lip-sync-url", 10_000)


def test_video_to_audio_gives_the_video_with_sound_and_the_sound_alone(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    video = made_video(gateway, ada.key)
    done = _follow(gateway, ada.key, TO_AUDIO, {"video_id": video["id"], "video_url": "",
                                                "sound_effect_prompt": "waves"}, "ada-foley")
    assert done["task_info"]["parent_video"]["id"] == video["id"]
    _assert_sounded_video(done["task_result"]["videos"][0], "5")
    (audio,) = done["task_result"]["audios"]
    assert audio["duration_mp3"] == audio["duration_wav"] == "5"
    assert _download(audio["url_mp3"])[:2] == b"\xff\xfb"
    assert _download(audio["url_wav"])[8:12] == b"WAVE"
    assert _charged(gateway, done["task_id"]) == ("kling-video-to-audio", 2_500)
    # What it made is the caller's: its audio can be lip-synced to.
    assert owned.find(Resource.AUDIO, audio["id"]).user_id == owned.find(
        Resource.VIDEO, video["id"]).user_id


def test_identify_face_then_advanced_lip_sync_in_its_session(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    video = made_video(gateway, ada.key)
    answer = ada.key.post(IDENTIFY, {"video_id": video["id"]})
    assert answer.status_code == 200, answer.text
    faces = answer.json()["data"]
    assert faces["final_unit_deduction"] == "0.05"
    assert [(face["face_id"], face["start_time"], face["end_time"])
            for face in faces["face_data"]] == [("0", 0, 5000), ("1", 2500, 5000)]
    assert _download(faces["face_data"][0]["face_image"]).startswith(b"\x89PNG")
    assert ada.balance == (1000 - T2V_CNY) * CNY - 500  # ¥0.05 a call

    sound = ada.key.create(TEXT_TO_AUDIO, {"prompt": "a cheer", "duration": 3})
    gateway.finish_upstream_tasks()
    audio_id = ada.key.get(f"{TEXT_TO_AUDIO}/{sound['task_id']}").json()["data"][
        "task_result"]["audios"][0]["id"]
    done = _follow(gateway, ada.key, ADVANCED,
                   {"session_id": faces["session_id"],
                    "face_choose": [face_choice(audio_id=audio_id, sound_file="")]},
                   "ada-dub")
    assert done["task_info"]["parent_video"] == {
        "id": video["id"], "url": video["url"], "duration": "5"}
    _assert_sounded_video(done["task_result"]["videos"][0], "5")
    assert _charged(gateway, done["task_id"]) == ("kling-advanced-lip-sync", 5_000)
    gateway.assert_books_balance()


def test_identify_face_by_url_and_a_face_not_in_the_session(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    session_id = ada.jwt.post(IDENTIFY, {"video_url": VIDEO_URL}).json()["data"]["session_id"]
    stranger_face = ada.jwt.post(ADVANCED, {"session_id": session_id,
                                            "face_choose": [face_choice("7")]})
    assert (stranger_face.status_code, stranger_face.json()["code"]) == (400, 1201)
    assert "face_choose[0].face_id" in stranger_face.json()["message"]
    # The refused task was charged and given back, once.
    assert [entry.price_key for entry in gateway.charges("refund")] == [
        "kling-advanced-lip-sync"]
    assert ada.balance == 1000 * CNY - 500
    gateway.assert_books_balance()


def test_a_refused_identify_face_is_refunded(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    refused = ada.jwt.post(IDENTIFY, {"video_url": "ftp://example.com/v.avi"})
    assert (refused.status_code, refused.json()["code"]) == (400, 1201)
    assert ada.balance == 1000 * CNY and len(gateway.charges("refund")) == 1


def test_another_users_objects_are_unknown_and_never_reach_upstream(gateway):
    sim = gateway.add_upstream("sim")
    ada, bob = gateway.tenant("ada"), gateway.tenant("bob")
    video = made_video(gateway, ada.key)
    session_id = ada.key.post(IDENTIFY, {"video_id": video["id"]}).json()["data"]["session_id"]
    sound = ada.key.create(TEXT_TO_AUDIO, {"prompt": "a cheer", "duration": 3})
    gateway.finish_upstream_tasks()
    audio_id = ada.key.get(f"{TEXT_TO_AUDIO}/{sound['task_id']}").json()["data"][
        "task_result"]["audios"][0]["id"]
    bob_session = bob.key.post(IDENTIFY, {"video_url": VIDEO_URL}).json()["data"]["session_id"]
    jobs = len(sim.jobs())

    attempts = [
        (EXTEND, {"video_id": video["id"]}, "video_id"),
        (LIP_SYNC, {"input": speech(video["id"])}, "input.video_id"),
        (TO_AUDIO, {"video_id": video["id"]}, "video_id"),
        (IDENTIFY, {"video_id": video["id"]}, "video_id"),
        (ADVANCED, {"session_id": session_id, "face_choose": [face_choice()]}, "session_id"),
        (ADVANCED, {"session_id": bob_session,
                    "face_choose": [face_choice(audio_id=audio_id)]}, "face_choose[0].audio_id"),
    ]
    for path, body, field in attempts:
        answer = bob.key.post(path, body)
        assert (answer.status_code, answer.json()["code"]) == (400, 1201), (path, answer.text)
        assert f"'{field}'" in answer.json()["message"], answer.text
    assert len(sim.jobs()) == jobs  # nothing reached upstream
    assert bob.balance == 1000 * CNY - 500  # only bob's own identify-face
    assert len(gateway.charges("refund")) == 0
    gateway.assert_books_balance()


@pytest.mark.parametrize("path", [EXTEND, LIP_SYNC, TO_AUDIO, IDENTIFY])
def test_work_on_a_video_goes_to_the_channel_that_made_it(gateway, path):
    maker = gateway.add_upstream("maker")
    ada = gateway.tenant("ada")
    video = made_video(gateway, ada.key)
    newer = gateway.add_upstream("newer", priority=50)  # would win any new work
    body = {"input": speech(video["id"])} if path == LIP_SYNC else {"video_id": video["id"]}
    answer = ada.key.post(path, body)
    assert answer.status_code == 200, answer.text
    assert newer.jobs() == [] and not newer.simulator.faces._sessions
    if path == IDENTIFY:
        session_id = answer.json()["data"]["session_id"]
        assert maker.simulator.faces.session("upstream-ak", session_id)
        dub = ada.key.post(ADVANCED, {"session_id": session_id,
                                      "face_choose": [face_choice()]})
        assert dub.status_code == 200, dub.text
    assert newer.jobs() == [] and len(maker.jobs()) == 2


@pytest.mark.parametrize(("path", "body", "price_key", "cny"), [
    (EXTEND, {"prompt": "more #sim-fail"}, "kling-video-extend_std", "2"),
    (LIP_SYNC, {"input": {"text": "hi #sim-fail"}}, "kling-lip-sync", "0.5"),
    (TO_AUDIO, {"sound_effect_prompt": "rain #sim-fail"}, "kling-video-to-audio", "0.25"),
])
def test_a_failed_task_is_refunded_once(gateway, path, body, price_key, cny):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    video = made_video(gateway, ada.key)
    if path == LIP_SYNC:
        body = {"input": {**speech(video["id"]), **body["input"]}}
    else:
        body = {**body, "video_id": video["id"]}
    task_id = ada.key.create(path, body)["task_id"]
    gateway.finish_upstream_tasks()
    failed = ada.key.get(f"{path}/{task_id}").json()["data"]
    assert failed["task_status"] == "failed" and failed["task_status_msg"]
    ada.key.get(f"{path}/{task_id}")  # a second read refunds nothing more
    refunds = [(entry.task_id, entry.price_key, entry.amount)
               for entry in gateway.charges("refund")]
    assert refunds == [(task_id, price_key, int(float(cny) * CNY))]
    assert ada.balance == (1000 - T2V_CNY) * CNY
    gateway.assert_books_balance()


def test_a_failed_advanced_lip_sync_is_refunded_once(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    session_id = ada.key.post(IDENTIFY, {"video_url": VIDEO_URL}).json()["data"]["session_id"]
    choice = face_choice(sound_file="https://x.example/a.mp3#sim-fail")
    task_id = ada.key.create(ADVANCED, {"session_id": session_id,
                                        "face_choose": [choice]})["task_id"]
    gateway.finish_upstream_tasks()
    assert ada.key.get(f"{ADVANCED}/{task_id}").json()["data"]["task_status"] == "failed"
    ada.key.get(f"{ADVANCED}/{task_id}")
    assert [entry.task_id for entry in gateway.charges("refund")] == [task_id]
    assert ada.balance == 1000 * CNY - 500
