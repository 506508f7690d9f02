"""Multi-elements editing through the gateway: sessions are owned, pinned and charged."""

from __future__ import annotations

from kling_gateway.services import channels
from kling_gateway.storage.models import SelectionSession
from tests.support.gateway import CNY

ME = "/v1/videos/multi-elements"
VIDEO_URL = "https://example.com/videos/street.mp4"
POINT = [{"x": 0.5, "y": 0.5}]


def open_session(api, **body) -> str:
    answer = api.post(f"{ME}/init-selection", body or {"video_url": VIDEO_URL})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["session_id"]


def test_the_whole_editing_flow_is_relayed_and_charged(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    session_id = open_session(ada.jwt)  # 5 CNY
    added = ada.jwt.post(f"{ME}/add-selection", {"session_id": session_id, "frame_index": 2,
                                                 "points": POINT})  # 2 CNY
    deleted = ada.key.post(f"{ME}/delete-selection", {"session_id": session_id,
                                                      "frame_index": 2, "points": POINT})
    previewed = ada.jwt.post(f"{ME}/preview-selection", {"session_id": session_id})
    cleared = ada.jwt.post(f"{ME}/clear-selection", {"session_id": session_id})
    task = ada.jwt.create(ME, {"session_id": session_id, "edit_mode": "removal",
                               "prompt": "Delete the car from <<<video_1>>>"})  # 50 CNY

    assert added.json()["data"]["res"]["rle_mask_list"][0]["rle_mask"]["size"] == [720, 1280]
    assert deleted.json()["data"]["res"]["rle_mask_list"] == []
    assert set(previewed.json()["data"]["res"]) == {"video", "video_cover", "tracking_output"}
    assert cleared.json()["data"]["session_id"] == session_id
    assert ada.balance == (1000 - 5 - 2 - 50) * CNY
    gateway.finish_upstream_tasks()
    done = ada.jwt.get(f"{ME}/{task['task_id']}").json()["data"]
    assert done["task_status"] == "succeed"
    assert done["task_result"]["videos"][0]["session_id"] == session_id


def test_a_refused_selection_call_is_refunded(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    session_id = open_session(ada.jwt)
    too_late = ada.jwt.post(f"{ME}/add-selection", {"session_id": session_id,
                                                    "frame_index": 100_000, "points": POINT})
    assert (too_late.status_code, too_late.json()["code"]) == (400, 1201)
    assert ada.balance == (1000 - 5) * CNY
    assert len(gateway.charges("refund")) == 1


def test_sessions_belong_to_their_user(gateway):
    gateway.add_upstream("sim")
    ada, bob = gateway.tenant("ada"), gateway.tenant("bob")
    session_id = open_session(ada.jwt)
    for operation in ("add-selection", "clear-selection", "preview-selection"):
        answer = bob.jwt.post(f"{ME}/{operation}", {"session_id": session_id,
                                                    "frame_index": 0, "points": POINT})
        assert (answer.status_code, answer.json()["code"]) == (400, 1201), operation
    edit = bob.jwt.post(ME, {"session_id": session_id, "edit_mode": "removal", "prompt": "x"})
    assert edit.json()["code"] == 1201
    assert bob.balance == 1000 * CNY


def test_sessions_stay_on_the_channel_that_opened_them(gateway):
    first = gateway.add_upstream("first", priority=10)
    second = gateway.add_upstream("second")
    ada = gateway.tenant("ada")
    session_id = open_session(ada.jwt)
    assert SelectionSession.get_by_id(session_id).channel.name == "first"

    channels.update_channel("second", priority=20)  # new work now prefers "second" ...
    ada.jwt.post(f"{ME}/add-selection", {"session_id": session_id, "frame_index": 0,
                                         "points": POINT})
    ada.jwt.create(ME, {"session_id": session_id, "edit_mode": "removal", "prompt": "x"})
    assert len(first.jobs()) == 1 and second.jobs() == []  # ... but the session's stays put


def test_init_selection_by_video_id_goes_to_the_channel_that_made_the_video(gateway):
    maker = gateway.add_upstream("maker")
    ada, bob = gateway.tenant("ada"), gateway.tenant("bob")
    task = ada.jwt.create("/v1/videos/text2video", {"prompt": "x"})
    gateway.finish_upstream_tasks()
    video = ada.jwt.get(f"/v1/videos/text2video/{task['task_id']}").json()["data"][
        "task_result"]["videos"][0]
    gateway.add_upstream("newer", priority=50)  # would win any new work
    session_id = open_session(ada.jwt, video_id=video["id"])

    assert SelectionSession.get_by_id(session_id).channel.name == "maker"
    assert maker.simulator.selections.session("upstream-ak", session_id)
    stranger = bob.jwt.post(f"{ME}/init-selection", {"video_id": video["id"]})
    assert stranger.json()["code"] == 1201
