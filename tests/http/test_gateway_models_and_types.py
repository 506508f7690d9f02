"""Open model names and the value forms Kling takes, through the gateway (issue 15, items 4
and 5): a model the price table lists works without a spec or code change; other forms of a
value are billed, stored and forwarded in the official type; real nonsense is 1201."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.models import Price, Task
from tests.support.bodies import IMAGE_URL
from tests.support.gateway import CNY, Gateway

T2V = "/v1/videos/text2video"
I2V = "/v1/videos/image2video"
IMG = "/v1/images/generations"
NEW_MODEL = "kling-v9-turbo"


def set_price(gateway: Gateway, key: str, price: str) -> None:
    answer = requests.put(f"{gateway.base_url}/admin/v1/prices/{key}", json={"price": price},
                          headers={"Authorization": "Bearer admin-token"}, timeout=30)
    assert answer.status_code == 200, answer.text


def test_a_new_model_is_1103_until_priced_then_it_runs(gateway):
    upstream = gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    body = {"prompt": "x", "model_name": NEW_MODEL}

    refused = ada.jwt.post(T2V, body)
    assert (refused.status_code, refused.json()["code"]) == (403, 1103)
    assert NEW_MODEL in refused.json()["message"]  # the wording is billing's
    assert upstream.jobs() == [] and ada.balance == 1000 * CNY

    set_price(gateway, f"kling-video_{NEW_MODEL}_std_5", "3.25")
    task_id = ada.jwt.create(T2V, body)["task_id"]
    gateway.finish_upstream_tasks()
    task = ada.jwt.get(f"{T2V}/{task_id}").json()["data"]

    assert task["task_status"] == "succeed"
    assert [job.body["model_name"] for job in upstream.jobs()] == [NEW_MODEL]
    assert Task.get_by_id(task_id).model_name == NEW_MODEL
    assert ada.balance == 1000 * CNY - 32_500


@pytest.mark.parametrize("model", ["Kling-V1", "kling_v1", "kling--v1", "kling-v1-",
                                   " kling-v1", "kling-v1\n", "k" * 65])
def test_a_malformed_model_name_is_1201_before_anything_is_charged(gateway, model: str):
    upstream = gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    answer = ada.key.post(T2V, {"prompt": "x", "model_name": model})
    assert (answer.status_code, answer.json()["code"]) == (400, 1201)
    assert "'model_name'" in answer.json()["message"]
    assert upstream.jobs() == [] and ada.balance == 1000 * CNY


def test_n_as_a_string_is_billed_per_image_and_forwarded_as_a_number(gateway):
    upstream = gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    task_id = ada.jwt.create(IMG, {"prompt": "x", "n": "2"})["task_id"]
    gateway.finish_upstream_tasks()
    task = ada.jwt.get(f"{IMG}/{task_id}").json()["data"]

    (job,) = upstream.jobs()
    assert job.body["n"] == 2 and task_store.request_body_of(task_id)["n"] == 2
    assert len(task["task_result"]["images"]) == 2
    per_image = Price.get_by_id(Task.get_by_id(task_id).price_key).amount
    assert Task.get_by_id(task_id).amount == 2 * per_image
    assert ada.balance == 1000 * CNY - 2 * per_image


def test_a_numeric_duration_is_billed_and_forwarded_as_the_string(gateway):
    upstream = gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    task_id = ada.jwt.create(T2V, {"prompt": "x", "duration": 10})["task_id"]

    (job,) = upstream.jobs()
    assert job.body["duration"] == "10"
    stored = Task.get_by_id(task_id)
    assert (stored.duration, stored.price_key) == ("10", "kling-video_kling-v1_std_10")
    assert stored.amount == Price.get_by_id("kling-video_kling-v1_std_10").amount


def test_multi_shot_and_element_ids_are_forwarded_in_the_official_type(gateway):
    upstream = gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    body = {"image": IMAGE_URL, "prompt": "x", "multi_shot": "false",
            "element_list": [{"element_id": "160"}, {"element_id": 161}]}
    task_id = ada.jwt.create(I2V, body)["task_id"]

    (job,) = upstream.jobs()
    assert job.body == {**body, "multi_shot": False,
                        "element_list": [{"element_id": 160}, {"element_id": 161}],
                        "external_task_id": task_id,
                        # the priced defaults, spelled out (pricing.priced_body)
                        "model_name": "kling-v1", "mode": "std", "duration": "5"}


@pytest.mark.parametrize(("path", "body", "field"), [
    (IMG, {"prompt": "x", "n": "ten"}, "n"),
    (IMG, {"prompt": "x", "n": 10}, "n"),
    (T2V, {"prompt": "x", "duration": 16}, "duration"),
    (T2V, {"prompt": "x", "duration": "5.0"}, "duration"),
    (T2V, {"prompt": "x", "multi_shot": 1}, "multi_shot"),
    (IMG, {"prompt": "x", "element_list": [{"element_id": "-1"}]},
     "element_list[0].element_id"),
], ids=["n-word", "n-ten", "duration-16", "duration-fraction", "multi_shot-1", "element-negative"])
def test_nonsense_is_1201_naming_the_field(gateway, path: str, body: dict[str, Any], field: str):
    upstream = gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    answer = ada.jwt.post(path, body)
    assert (answer.status_code, answer.json()["code"]) == (400, 1201)
    assert f"invalid parameter '{field}'" in answer.json()["message"]
    assert upstream.jobs() == [] and ada.balance == 1000 * CNY
