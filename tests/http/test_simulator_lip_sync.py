"""The simulator's lip-sync and video tools: the source video and the face session are checked
per account as Kling checks them, and the units follow Kling's price table."""

from __future__ import annotations

from typing import Any

from kling_gateway.simulator.settings import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY

T2V = "/v1/videos/text2video"
EXTEND = "/v1/videos/video-extend"
LIP_SYNC = "/v1/videos/lip-sync"
TO_AUDIO = "/v1/audio/video-to-audio"
IDENTIFY = "/v1/videos/identify-face"
ADVANCED = "/v1/videos/advanced-lip-sync"
OTHER = {"other-ak": "other-sk-0123456789abcdef0123456789ab"}


def finished(sim, path: str, body: dict[str, Any]) -> dict[str, Any]:
    task = sim.api.create(path, body)
    sim.finish_tasks()
    return sim.api.get(f"{path}/{task['task_id']}").json()["data"]


def video_of(sim, **body: Any) -> dict[str, Any]:
    return finished(sim, T2V, {"prompt": "a pier", **body})["task_result"]["videos"][0]


def refusal(answer) -> str:
    assert (answer.status_code, answer.json()["code"]) == (400, 1201), answer.text
    return answer.json()["message"]


def test_only_legacy_model_videos_are_extended_and_units_follow_the_source_mode(sim):
    pro = video_of(sim, mode="pro", duration="10")
    extended = finished(sim, EXTEND, {"video_id": pro["id"]})
    assert extended["task_result"]["videos"][0]["duration"] == "15"
    assert extended["final_unit_deduction"] == "3.5"
    assert extended["task_info"]["parent_video"]["duration"] == "10"
    newer = video_of(sim, model_name="kling-v2-6")
    assert "kling-v1-6" in refusal(sim.api.post(EXTEND, {"video_id": newer["id"]}))
    assert "'video_id'" in refusal(sim.api.post(EXTEND, {"video_id": "nobody-made-it"}))


def test_lip_sync_units_are_per_started_5_s_of_the_video(sim):
    video = video_of(sim, duration="10")
    done = finished(sim, LIP_SYNC, {"input": {"video_id": video["id"], "mode": "audio2video",
                                              "audio_type": "url",
                                              "audio_url": "https://x.example/a.mp3"}})
    assert done["final_unit_deduction"] == "1"
    assert done["task_result"]["videos"][0]["url"].endswith("-sound.mp4")
    assert "'input.video_url'" in refusal(sim.api.post(LIP_SYNC, {"input": {
        "video_url": "ftp://x/v.avi", "mode": "text2video", "text": "hi", "voice_id": "v"}}))


def test_video_to_audio_takes_3_to_20_s(sim):
    long = video_of(sim, model_name="kling-v3", duration="15")
    assert finished(sim, TO_AUDIO, {"video_id": long["id"]})["task_status"] == "succeed"
    message = refusal(sim.api.post(TO_AUDIO, {"video_id": long["id"], "video_url": "x"}))
    assert "video_id" in message and "video_url" in message  # exactly one of them


def test_advanced_lip_sync_checks_its_session_face_and_span(start_simulator):
    sim = start_simulator(accounts={DEFAULT_ACCESS_KEY: DEFAULT_SECRET_KEY, **OTHER})
    faces = sim.api.post(IDENTIFY, {"video_url": "https://x.example/v.mp4"}).json()["data"]
    session_id = faces["session_id"]

    def dub(**choice: Any):
        face = {"face_id": "1", "sound_file": "https://x.example/a.mp3", "sound_start_time": 0,
                "sound_end_time": 2500, "sound_insert_time": 2500, **choice}
        return sim.api.post(ADVANCED, {"session_id": session_id, "face_choose": [face]})

    assert dub().status_code == 200
    assert "overlap" in refusal(dub(sound_insert_time=0))  # face 1 starts at 2.5 s
    assert "after the video" in refusal(dub(sound_insert_time=3000))
    assert "'face_choose[0].face_id'" in refusal(dub(face_id="-1"))
    assert "'face_choose[0].audio_id'" in refusal(dub(sound_file="", audio_id="unknown"))
    other = sim.client(*next(iter(OTHER.items())))
    foreign = other.post(ADVANCED, {"session_id": session_id, "face_choose": [{
        "face_id": "0", "sound_file": "https://x.example/a.mp3", "sound_start_time": 0,
        "sound_end_time": 3000, "sound_insert_time": 0}]})
    assert "'session_id'" in refusal(foreign)
