"""Open model names, through the gateway (issue 15, item 4): a model the price table lists
works without a spec or code change; a malformed name is 1201."""

from __future__ import annotations

import pytest
import requests

from kling_gateway.storage.models import Task
from tests.support.gateway import CNY, Gateway

T2V = "/v1/videos/text2video"
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
