"""The gateway relays every task family to a simulated Kling, billed and owned, over HTTP."""

from __future__ import annotations

import pytest

from kling_gateway.storage.models import Task, User
from tests.support.bodies import IMAGE_BASE64, TASK_FAMILIES, FamilyCase
from tests.support.databases import recorded_statements
from tests.support.gateway import CNY

BEARERS = ("jwt", "key")
I2V = "/v1/videos/image2video"


@pytest.mark.parametrize("bearer", BEARERS)
@pytest.mark.parametrize("family", TASK_FAMILIES, ids=str)
def test_task_lifecycle_through_the_gateway(gateway, family: FamilyCase, bearer: str):
    upstream = gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    api = getattr(ada, bearer)

    created = api.post(family.path, {**family.body, "external_task_id": "ext-1"})
    assert created.status_code == 200, created.text
    task = created.json()["data"]
    assert task["task_status"] == "submitted"
    assert task["task_info"] == {"external_task_id": "ext-1"}
    (job,) = upstream.jobs()
    assert task["task_id"] != job.task_id  # the client sees the gateway's id ...
    assert job.body["external_task_id"] == task["task_id"]  # ... which Kling knows as external

    gateway.finish_upstream_tasks()
    by_id = api.get(f"{family.path}/{task['task_id']}").json()["data"]
    by_external = api.get(f"{family.path}/ext-1").json()["data"]
    listed = api.get(family.path).json()["data"]

    assert by_id == by_external == listed[0]
    assert by_id["task_status"] == "succeed"
    assert by_id["task_result"] == job.result
    assert by_id["task_info"] == {"external_task_id": "ext-1"}
    charged = Task.get_by_id(task["task_id"]).amount
    assert ada.balance == 1000 * CNY - charged > 0


def test_both_base_urls_serve_the_same_api(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    task_id = ada.jwt.create("/v1/videos/text2video", {"prompt": "x"})["task_id"]
    bare = type(ada.jwt)(gateway.base_url, ada.issued.access_key, ada.issued.secret_key)
    assert bare.get(f"/v1/videos/text2video/{task_id}").json()["data"]["task_id"] == task_id


def test_the_client_body_is_forwarded_as_sent_except_gateway_fields(gateway):
    upstream = gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    body = {"model_name": "kling-v1-6", "prompt": "x", "negative_prompt": "", "mode": "pro",
            "duration": "10", "aspect_ratio": "9:16", "cfg_scale": 0.3,
            "brand_new_parameter": {"nested": [1, 2]}, "model": "kling-v1",
            "external_task_id": "mine", "callback_url": "http://127.0.0.1:9/cb"}
    task_id = ada.jwt.create("/v1/videos/text2video", body)["task_id"]

    (job,) = upstream.jobs()
    expected = {k: v for k, v in body.items() if k not in ("external_task_id", "callback_url")}
    assert job.body == {**expected, "external_task_id": task_id}


def test_official_sdk_request_passes_through_unchanged(gateway):
    """An image2video request as Kling's own ComfyUI client sends it (py/api: every optional
    field present, camera control with all six axes, Base64 without a prefix)."""
    upstream = gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    official = {
        "model_name": "kling-v1-5", "mode": "pro", "duration": "5",
        "image": ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
                  "awAAAABJRU5ErkJggg=="),
        "prompt": "The girl turns around and smiles", "negative_prompt": "", "cfg_scale": 0.5,
        "camera_control": {"type": "simple", "config": {"horizontal": 0, "vertical": 0,
                                                        "pan": 0, "tilt": 0, "roll": 0,
                                                        "zoom": 5}},
    }
    response = ada.jwt.post("/v1/videos/image2video", official)
    assert response.status_code == 200, response.text
    assert upstream.jobs()[0].body == {**official,
                                       "external_task_id": response.json()["data"]["task_id"]}


@pytest.mark.parametrize("watermark", [None, {"enabled": True}, {"enabled": False}, {}])
def test_the_watermark_choice_is_answered_without_reading_the_request_body(gateway, watermark):
    """The body holds the Base64 image (megabytes at Kling's limits): reads must not load it."""
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    body = {"image": IMAGE_BASE64, "prompt": "she turns around", "model_name": "kling-v1-6"}
    if watermark is not None:
        body["watermark_info"] = watermark
    task_id = ada.key.create(I2V, body)["task_id"]
    gateway.finish_upstream_tasks()
    with recorded_statements() as statements:
        by_id = ada.key.get(f"{I2V}/{task_id}").json()["data"]
        (listed,) = ada.key.get(I2V).json()["data"]
    expected = None if watermark is None else {"enabled": watermark.get("enabled", False)}
    assert by_id.get("watermark_info") == listed.get("watermark_info") == expected
    assert by_id["task_status"] == "succeed"
    assert statements and not [sql for sql in statements if "request_body" in sql]


def test_list_is_newest_first_and_paged(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    ids = [ada.key.create("/v1/images/generations", {"prompt": f"p{i}"})["task_id"]
           for i in range(5)]
    page_one = ada.key.get("/v1/images/generations", pageNum=1, pageSize=2).json()["data"]
    page_three = ada.key.get("/v1/images/generations", pageNum=3, pageSize=2).json()["data"]
    assert [t["task_id"] for t in page_one] == ids[::-1][:2]
    assert [t["task_id"] for t in page_three] == ids[:1]


def test_tasks_are_private_to_their_owner(gateway):
    gateway.add_upstream("sim")
    ada, bob = gateway.tenant("ada"), gateway.tenant("bob")
    task_id = ada.jwt.create("/v1/videos/text2video", {"prompt": "x",
                                                       "external_task_id": "same"})["task_id"]
    for path in (f"/v1/videos/text2video/{task_id}", "/v1/videos/text2video/same"):
        answer = bob.jwt.get(path)
        assert (answer.status_code, answer.json()["code"]) == (404, 1203)
    assert bob.jwt.get("/v1/videos/text2video").json()["data"] == []
    # external ids are unique per user, not across users
    assert bob.jwt.post("/v1/videos/text2video", {"prompt": "x",
                                                  "external_task_id": "same"}).status_code == 200


def test_duplicate_external_task_id_is_1201_without_charge_or_upstream_call(gateway):
    upstream = gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    ada.jwt.create("/v1/videos/text2video", {"prompt": "x", "external_task_id": "once"})
    balance = ada.balance

    again = ada.jwt.post("/v1/videos/text2video", {"prompt": "y", "external_task_id": "once"})
    assert (again.status_code, again.json()["code"]) == (400, 1201)
    assert ada.balance == balance and len(upstream.jobs()) == 1


def test_unpriced_model_is_1103_and_insufficient_balance_is_1102(gateway):
    upstream = gateway.add_upstream("sim")
    poor = gateway.tenant("poor", balance_cny=4)
    unpriced = poor.jwt.post("/v1/videos/text2video", {"prompt": "x", "model_name": "kling-v2-6",
                                                       "sound": "on"})  # Kling's std is silent
    short = poor.jwt.post("/v1/videos/text2video", {"prompt": "x"})

    assert (unpriced.status_code, unpriced.json()["code"]) == (403, 1103)
    assert unpriced.json()["message"] == (
        "model kling-v2-6 for text2video (std, 5 s, sound on) is not priced on this gateway; an "
        "operator enables it with: kling-gateway admin price set kling-video_kling-v2-6_std_sound "
        "<CNY per second>")
    assert (short.status_code, short.json()["code"]) == (429, 1102)
    assert "5.00 CNY needed, 4.00 CNY available" in short.json()["message"]
    assert upstream.jobs() == [] and Task.select().count() == 0
    assert User.get(User.name == "poor").balance == 4 * CNY


def test_account_costs_answers_the_callers_balance(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada", balance_cny=50)
    ada.jwt.create("/v1/videos/text2video", {"prompt": "x"})
    answer = ada.key.get("/account/costs", start_time=0, end_time=1)
    (pack,) = answer.json()["data"]["resource_pack_subscribe_infos"]
    assert (pack["total_quantity"], pack["remaining_quantity"]) == (50.0, 45.0)
