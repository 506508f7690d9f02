"""Every row of the seeded price table (README, Prices), bought over HTTP through the gateway from
the simulator: each task succeeds and the ledger holds the table's amount. Plus what the
gateway sends Kling (every priced default spelled out) and prices set while it runs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kling_gateway.storage.models import Price, Task
from tests.support.bodies import IMAGE_URL
from tests.support.gateway import CNY

T2V, I2V = "/v1/videos/text2video", "/v1/videos/image2video"
MI2V, ME = "/v1/videos/multi-image2video", "/v1/videos/multi-elements"
IMAGES, MI2I = "/v1/images/generations", "/v1/images/multi-image2image"
VIDEO_URL = "https://example.com/videos/street.mp4"  # the simulator takes it as 5 s
SOUND = {"sound": "on"}
VOICE = {"sound": "on", "voice_list": [{"voice_id": "voice-1"}]}
I2I = {"image": IMAGE_URL}


@dataclass(frozen=True)
class Row:
    path: str
    body: dict[str, Any]
    key: str
    cny: str
    """What the README's table says this request costs."""


def video(path: str, model: str, mode: str, seconds: int, key: str, cny: str,
          **extra: Any) -> Row:
    body = {"prompt": "a red panda", "model_name": model, "mode": mode,
            "duration": str(seconds), **extra}
    if path == I2V:
        body["image"] = IMAGE_URL
    if path == MI2V:
        body["image_list"] = [{"image": IMAGE_URL}]
    return Row(path, body, key, cny)


def image(model: str | None, n: int, key: str, cny: str, **extra: Any) -> Row:
    body = {"prompt": "a lighthouse", "n": n, **extra}
    if model:
        body["model_name"] = model
    return Row(IMAGES, body, key, cny)


def brief_video_rows(path: str, prefix: str, model: str, amounts: tuple[int, ...]) -> list[Row]:
    """The brief's exact per-call prices: std 5 s, std 10 s, pro 5 s, pro 10 s."""
    cases = (("std", 5), ("std", 10), ("pro", 5), ("pro", 10))
    return [video(path, model, mode, seconds, f"{prefix}_{model}_{mode}_{seconds}", str(cny))
            for (mode, seconds), cny in zip(cases, amounts, strict=True)]


VIDEO_ROWS = [
    *brief_video_rows(T2V, "kling-video", "kling-v1", (5, 10, 15, 30)),
    *brief_video_rows(I2V, "kling-video", "kling-v1-5", (5, 10, 15, 30)),
    *brief_video_rows(T2V, "kling-video", "kling-v1-6", (10, 20, 30, 60)),
    *brief_video_rows(I2V, "kling-video", "kling-v2-master", (15, 30, 45, 90)),
    *brief_video_rows(T2V, "kling-video", "kling-v2-1-master", (15, 30, 45, 90)),
    *brief_video_rows(MI2V, "kling-multi-image2video", "kling-v1-6", (30, 60, 90, 180)),
    # Kling's per-second list (¥1 a video unit) at lengths without an exact price.
    video(T2V, "kling-v1", "std", 3, "kling-video_kling-v1_std", "0.60"),
    video(I2V, "kling-v1", "pro", 4, "kling-video_kling-v1_pro", "2.80"),
    video(I2V, "kling-v1-5", "std", 6, "kling-video_kling-v1-5_std", "2.40"),
    video(I2V, "kling-v1-5", "pro", 7, "kling-video_kling-v1-5_pro", "4.90"),
    video(T2V, "kling-v1-6", "std", 8, "kling-video_kling-v1-6_std", "3.20"),
    video(I2V, "kling-v1-6", "pro", 9, "kling-video_kling-v1-6_pro", "6.30"),
    video(T2V, "kling-v2-master", "std", 11, "kling-video_kling-v2-master_std", "22.00"),
    video(T2V, "kling-v2-master", "pro", 12, "kling-video_kling-v2-master_pro", "24.00"),
    video(I2V, "kling-v2-1", "std", 5, "kling-video_kling-v2-1_std", "2.00"),
    video(I2V, "kling-v2-1", "pro", 10, "kling-video_kling-v2-1_pro", "7.00"),
    video(I2V, "kling-v2-1-master", "std", 13, "kling-video_kling-v2-1-master_std", "26.00"),
    video(T2V, "kling-v2-1-master", "pro", 14, "kling-video_kling-v2-1-master_pro", "28.00"),
    video(T2V, "kling-v2-5-turbo", "std", 5, "kling-video_kling-v2-5-turbo_std", "1.50"),
    video(I2V, "kling-v2-5-turbo", "pro", 10, "kling-video_kling-v2-5-turbo_pro", "5.00"),
    video(T2V, "kling-v2-6", "std", 5, "kling-video_kling-v2-6_std", "1.50"),
    video(I2V, "kling-v2-6", "pro", 10, "kling-video_kling-v2-6_pro", "5.00"),
    video(T2V, "kling-v2-6", "pro", 5, "kling-video_kling-v2-6_pro_sound", "5.00", **SOUND),
    video(I2V, "kling-v2-6", "pro", 10, "kling-video_kling-v2-6_pro_voice", "12.00", **VOICE),
    video(T2V, "kling-v3", "std", 3, "kling-video_kling-v3_std", "1.80"),
    video(I2V, "kling-v3", "pro", 15, "kling-video_kling-v3_pro", "12.00"),
    video(I2V, "kling-v3", "std", 7, "kling-video_kling-v3_std_sound", "6.30", **SOUND),
    video(T2V, "kling-v3", "pro", 15, "kling-video_kling-v3_pro_sound", "18.00", **SOUND),
]
IMAGE_ROWS = [
    image("kling-v1", 1, "kling-image_kling-v1", "5"),  # the brief's, per image
    image("kling-v1", 2, "kling-image_kling-v1_2k", "30", resolution="2k"),
    image("kling-v1-5", 3, "kling-image_kling-v1-5", "15"),
    image("kling-v1-5", 1, "kling-image_kling-v1-5_2k", "15", resolution="2k"),
    # Kling's list: ¥0.025 an image unit, each image rounded up to the fen.
    image("kling-v1", 2, "kling-image_kling-v1_i2i", "0.06", **I2I),
    image("kling-v1-5", 1, "kling-image_kling-v1-5_i2i", "0.20", **I2I),
    image("kling-v2", 1, "kling-image_kling-v2", "0.10"),
    image("kling-v2", 9, "kling-image_kling-v2_2k", "0.90", resolution="2k"),
    image("kling-v2", 1, "kling-image_kling-v2_i2i", "0.20", **I2I),
    image("kling-v2-new", 1, "kling-image_kling-v2-new_i2i", "0.20", **I2I),
    image("kling-v2-1", 1, "kling-image_kling-v2-1", "0.10"),
    image("kling-v2-1", 1, "kling-image_kling-v2-1_2k", "0.10", resolution="2k"),
    image("kling-v2-1", 4, "kling-image_kling-v2-1_i2i", "0.80", **I2I),
    image("kling-v2-1", 1, "kling-image_kling-v2-1_2k_i2i", "0.20", resolution="2k", **I2I),
    image(None, 1, "kling-image_kling-v3", "0.20"),  # kling-v3: Kling's default now
    image("kling-v3", 1, "kling-image_kling-v3_2k", "0.20", resolution="2k"),
    image("kling-v3", 1, "kling-image_kling-v3_i2i", "0.20", **I2I),
    image("kling-v3", 2, "kling-image_kling-v3_2k_i2i", "0.40", resolution="2k", **I2I),
    Row(MI2I, {"subject_image_list": [{"subject_image": IMAGE_URL}], "model_name": "kling-v2"},
        "kling-multi-image2image_kling-v2", "30"),
    Row(MI2I, {"subject_image_list": [{"subject_image": IMAGE_URL}], "n": 2},  # kling-v2-1
        "kling-multi-image2image_kling-v2-1", "0.80"),
]
EDIT_ROWS = [(mode, seconds, f"kling-multi-elements_kling-v1-6_{mode}_{seconds}", cny)
             for (mode, seconds), cny in ((("std", 5), "50"), (("std", 10), "100"),
                                          (("pro", 5), "150"), (("pro", 10), "300"))]


def amount(cny: str) -> int:
    return int(Decimal(cny) * CNY)


def create(api: Any, path: str, body: dict[str, Any]) -> str:
    return api.create(path, body)["task_id"]


def open_session(api: Any, body: dict[str, Any]) -> str:
    answer = api.post(f"{ME}/init-selection", body)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["session_id"]


def test_every_seeded_price_is_bought_over_http_at_the_tables_amount(gateway):
    gateway.add_upstream("sim", concurrency=1000)
    ada = gateway.tenant("ada", balance_cny=10_000)
    expected = {create(ada.key, row.path, row.body): (row.key, amount(row.cny))
                for row in VIDEO_ROWS + IMAGE_ROWS}
    paths = {task_id: row.path for task_id, row in zip(expected, VIDEO_ROWS + IMAGE_ROWS,
                                                       strict=True)}
    gateway.finish_upstream_tasks()

    # Edits: a 5 s session from a URL, a 10 s one from a 10 s video the account made.
    ten_seconds = next(task_id for task_id, (key, _) in expected.items()
                       if key == "kling-video_kling-v1_std_10")
    video = ada.key.get(f"{T2V}/{ten_seconds}").json()["data"]["task_result"]["videos"][0]
    sessions = {"5": {"video_url": VIDEO_URL}, "10": {"video_id": video["id"]}}
    opened = []
    for mode, seconds, key, cny in EDIT_ROWS:
        session_id = open_session(ada.jwt, sessions[str(seconds)])
        opened.append(session_id)
        body = {"session_id": session_id, "edit_mode": "removal", "mode": mode,
                "duration": str(seconds), "prompt": "Delete the car from <<<video_1>>>"}
        task_id = create(ada.jwt, ME, body)
        expected[task_id], paths[task_id] = (key, amount(cny)), ME
    added = ada.jwt.post(f"{ME}/add-selection", {"session_id": opened[0], "frame_index": 1,
                                                 "points": [{"x": 0.5, "y": 0.5}]})
    assert added.status_code == 200, added.text
    gateway.finish_upstream_tasks()

    for task_id, path in paths.items():
        answer = ada.key.get(f"{path}/{task_id}").json()["data"]
        assert answer["task_status"] == "succeed", (expected[task_id], answer)
    charges = gateway.charges()
    charged = {entry.task_id: (entry.price_key, -entry.amount) for entry in charges
               if entry.task_id}
    assert charged == expected
    selections = sorted((e.price_key, -e.amount) for e in charges if not e.task_id)
    assert selections == [("kling-add-selection", 2 * CNY),
                          *[("kling-init-selection", 5 * CNY)] * 4]
    assert gateway.charges("refund") == []
    assert ada.balance == 10_000 * CNY + sum(e.amount for e in charges)


def test_every_priced_default_is_stored_and_sent_to_kling(gateway):
    upstream = gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    minimal = {T2V: {"prompt": "x"}, I2V: {"image": IMAGE_URL},
               MI2V: {"prompt": "x", "image_list": [{"image": IMAGE_URL}]},
               IMAGES: {"prompt": "x"},
               MI2I: {"subject_image_list": [{"subject_image": IMAGE_URL}]}}
    explicit = {T2V: {"model_name": "kling-v1", "mode": "std", "duration": "5"},
                I2V: {"model_name": "kling-v1", "mode": "std", "duration": "5"},
                MI2V: {"model_name": "kling-v1-6", "mode": "std", "duration": "5"},
                IMAGES: {"model_name": "kling-v3", "resolution": "1k", "n": 1},
                MI2I: {"model_name": "kling-v2-1", "n": 1}}
    task_ids = {path: create(ada.jwt, path, body) for path, body in minimal.items()}

    jobs = {job.body["external_task_id"]: job.body for job in upstream.jobs()}
    for path, task_id in task_ids.items():
        sent = {**minimal[path], **explicit[path]}
        assert Task.get_by_id(task_id).request_body == sent, path
        assert jobs[task_id] == {**sent, "external_task_id": task_id}, path
    charged = {e.task_id: e.price_key for e in gateway.charges()}
    assert [charged[task_ids[path]] for path in (IMAGES, MI2I)] == [
        "kling-image_kling-v3", "kling-multi-image2image_kling-v2-1"]


def test_a_price_set_through_the_admin_api_is_sold_at_once(gateway):
    upstream = gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    body = {"prompt": "x", "model_name": "kling-v3", "mode": "pro", "duration": "6"}
    Price.delete().where(Price.key == "kling-video_kling-v3_pro").execute()
    refused = ada.jwt.post(T2V, body)
    assert (refused.status_code, refused.json()["code"]) == (403, 1103)
    assert "admin price set kling-video_kling-v3_pro <CNY per second>" in refused.json()[
        "message"]

    admin = gateway.admin("PUT", "/prices/kling-video_kling-v3_pro", json={"price": "0.85"})
    assert admin == {"key": "kling-video_kling-v3_pro", "price": "0.85",
                     "updated_at": admin["updated_at"]}
    task_id = create(ada.jwt, T2V, body)
    assert [(e.task_id, e.price_key, e.amount) for e in gateway.charges()] == [
        (task_id, "kling-video_kling-v3_pro", -6 * 8_500)]
    assert len(upstream.jobs()) == 1
