"""The multi-elements editing flow: selection session, masks, preview, then the edit task."""

from __future__ import annotations

import base64

from kling_gateway.simulator.masks import decode_coco_rle

ME = "/v1/videos/multi-elements"
VIDEO_URL = "https://example.com/videos/street.mp4"


def open_session(sim, **body) -> dict:
    answer = sim.api.post(f"{ME}/init-selection", body or {"video_url": VIDEO_URL})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def test_init_selection_describes_the_video(sim):
    session = open_session(sim)
    assert session["status"] == 0 and session["session_id"].isdigit()
    assert (session["width"], session["height"], session["fps"]) == (1280, 720, 30.0)
    assert session["total_frame"] == session["original_duration"] * 30 // 1000
    assert session["normalized_video"].endswith(".mp4")


def test_init_selection_from_a_generated_video_id(sim):
    task = sim.api.create("/v1/videos/text2video", {"prompt": "x", "duration": "10"})
    sim.finish_tasks()
    video = sim.api.get(f"/v1/videos/text2video/{task['task_id']}").json()["data"][
        "task_result"]["videos"][0]

    session = open_session(sim, video_id=video["id"])
    assert session["original_duration"] == 10000
    unknown = sim.api.post(f"{ME}/init-selection", {"video_id": "no-such-video"})
    assert (unknown.status_code, unknown.json()["code"]) == (400, 1201)


def test_init_selection_needs_an_mp4_or_mov_url(sim):
    answer = sim.api.post(f"{ME}/init-selection", {"video_url": "https://example.com/a.avi"})
    assert answer.json()["code"] == 1201 and ".mp4" in answer.json()["message"]


def test_add_selection_answers_masks_covering_the_points(sim):
    session_id = open_session(sim)["session_id"]
    answer = sim.api.post(f"{ME}/add-selection", {"session_id": session_id, "frame_index": 3,
                                                  "points": [{"x": 0.25, "y": 0.5}]})
    res = answer.json()["data"]["res"]
    (mask,) = res["rle_mask_list"]

    assert res["frame_index"] == 3
    assert mask["rle_mask"]["size"] == mask["png_mask"]["size"] == [720, 1280]
    pixels = decode_coco_rle(mask["rle_mask"]["counts"], 1280, 720)
    assert pixels[360 * 1280 + 320] == 1  # the point itself (row-major, origin top-left)
    assert pixels[0] == 0
    assert base64.b64decode(mask["png_mask"]["base64"]).startswith(b"\x89PNG")


def test_delete_selection_needs_the_exact_points(sim):
    session_id = open_session(sim)["session_id"]
    points = [{"x": 0.25, "y": 0.5}, {"x": 0.75, "y": 0.5}]
    sim.api.post(f"{ME}/add-selection", {"session_id": session_id, "frame_index": 0,
                                         "points": points})

    wrong = sim.api.post(f"{ME}/delete-selection", {"session_id": session_id, "frame_index": 0,
                                                    "points": [{"x": 0.26, "y": 0.5}]})
    assert wrong.json()["code"] == 1201
    right = sim.api.post(f"{ME}/delete-selection", {"session_id": session_id, "frame_index": 0,
                                                    "points": points[:1]})
    assert len(right.json()["data"]["res"]["rle_mask_list"]) == 1
    last = sim.api.post(f"{ME}/delete-selection", {"session_id": session_id, "frame_index": 0,
                                                   "points": points[1:]})
    assert last.json()["data"]["res"]["rle_mask_list"] == []


def test_at_most_10_frames_and_10_points_per_frame(sim):
    session_id = open_session(sim)["session_id"]
    point = [{"x": 0.5, "y": 0.5}]
    for frame in range(10):
        assert sim.api.post(f"{ME}/add-selection", {"session_id": session_id,
                                                    "frame_index": frame,
                                                    "points": point}).status_code == 200
    eleventh = sim.api.post(f"{ME}/add-selection", {"session_id": session_id,
                                                    "frame_index": 10, "points": point})
    assert eleventh.json()["code"] == 1201 and "10 frames" in eleventh.json()["message"]

    more = sim.api.post(f"{ME}/add-selection", {"session_id": session_id, "frame_index": 0,
                                                "points": point * 10})
    assert more.json()["code"] == 1201 and "10 points" in more.json()["message"]


def test_frame_index_must_exist_in_the_video(sim):
    session = open_session(sim)
    answer = sim.api.post(f"{ME}/add-selection", {"session_id": session["session_id"],
                                                  "frame_index": session["total_frame"],
                                                  "points": [{"x": 0, "y": 0}]})
    assert answer.json()["code"] == 1201 and "frame_index" in answer.json()["message"]


def test_clear_and_preview(sim):
    session_id = open_session(sim)["session_id"]
    sim.api.post(f"{ME}/add-selection", {"session_id": session_id, "frame_index": 1,
                                         "points": [{"x": 0.5, "y": 0.5}]})
    preview = sim.api.post(f"{ME}/preview-selection", {"session_id": session_id}).json()["data"]
    cleared = sim.api.post(f"{ME}/clear-selection", {"session_id": session_id}).json()["data"]
    after = sim.api.post(f"{ME}/delete-selection", {"session_id": session_id, "frame_index": 1,
                                                    "points": [{"x": 0.5, "y": 0.5}]})

    assert set(preview["res"]) == {"video", "video_cover", "tracking_output"}
    assert cleared == {"status": 0, "session_id": session_id, "final_unit_deduction": "0"}
    assert after.json()["code"] == 1201  # nothing left to delete


def test_edit_task_runs_on_a_live_session(sim):
    session_id = open_session(sim)["session_id"]
    task = sim.api.create(ME, {"session_id": session_id, "edit_mode": "removal",
                               "prompt": "Delete the car from <<<video_1>>>",
                               "external_task_id": "edit-1"})
    sim.finish_tasks()
    final = sim.api.get(f"{ME}/edit-1").json()["data"]

    assert final["task_id"] == task["task_id"] and final["task_status"] == "succeed"
    assert final["task_result"]["videos"][0]["session_id"] == session_id
    assert [t["task_id"] for t in sim.api.get(ME).json()["data"]] == [task["task_id"]]


def test_edit_task_refuses_unknown_sessions_and_wrong_durations(sim):
    unknown = sim.api.post(ME, {"session_id": "123", "edit_mode": "removal", "prompt": "x"})
    assert unknown.json()["code"] == 1201 and "session_id" in unknown.json()["message"]

    five_second_session = open_session(sim)["session_id"]
    too_long = sim.api.post(ME, {"session_id": five_second_session, "edit_mode": "removal",
                                 "prompt": "x", "duration": "10"})
    assert too_long.json()["code"] == 1201 and "duration" in too_long.json()["message"]


def test_sessions_expire_after_24_hours(sim):
    session_id = open_session(sim)["session_id"]
    sim.clock.advance(24 * 3600 + 1)
    answer = sim.api.post(f"{ME}/clear-selection", {"session_id": session_id})
    assert answer.json()["code"] == 1201 and "expired" in answer.json()["message"]


def test_sessions_belong_to_their_account(start_simulator):
    sim = start_simulator(accounts={"a": "sa-0123456789abcdef0123456789abcdef",
                                    "b": "sb-0123456789abcdef0123456789abcdef"})
    a = sim.client("a", "sa-0123456789abcdef0123456789abcdef")
    b = sim.client("b", "sb-0123456789abcdef0123456789abcdef")
    session_id = a.post(f"{ME}/init-selection", {"video_url": VIDEO_URL}).json()["data"][
        "session_id"]
    assert b.post(f"{ME}/clear-selection", {"session_id": session_id}).json()["code"] == 1201
