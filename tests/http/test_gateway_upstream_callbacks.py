"""With a public URL, Kling reports task changes to the gateway itself: no polling needed."""

from __future__ import annotations

import time

import requests

from kling_gateway.storage.models import Task

T2V = "/v1/videos/text2video"


def wait_for(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_upstream_callbacks_finish_the_task_without_polling(public_gateway):
    upstream = public_gateway.add_upstream("sim")
    ada = public_gateway.tenant("ada")
    task_id = ada.jwt.create(T2V, {"prompt": "x", "callback_url": "http://127.0.0.1:9/c"})[
        "task_id"]
    (job,) = upstream.jobs()
    secret = Task.get_by_id(task_id).callback_secret
    assert job.body["callback_url"] == (
        f"{public_gateway.base_url}/kling-gateway/callbacks/{task_id}/{secret}")

    public_gateway.finish_upstream_tasks()
    upstream.simulator.tasks.tick()  # the simulator reports processing, then succeed
    wait_for(lambda: Task.get_by_id(task_id).status == "succeed")
    assert Task.get_by_id(task_id).result == job.result


def test_a_wrong_secret_or_unknown_task_is_not_found(public_gateway):
    public_gateway.add_upstream("sim")
    ada = public_gateway.tenant("ada")
    task_id = ada.jwt.create(T2V, {"prompt": "x"})["task_id"]
    base = f"{public_gateway.base_url}/kling-gateway/callbacks"
    body = {"task_id": "1", "task_status": "failed"}
    for url in (f"{base}/{task_id}/wrong", f"{base}/0000/whatever"):
        answer = requests.post(url, json=body, timeout=10)
        assert (answer.status_code, answer.json()["code"]) == (404, 1203)
    assert Task.get_by_id(task_id).status == "submitted"


def test_duplicate_and_late_callbacks_change_nothing(public_gateway):
    upstream = public_gateway.add_upstream("sim")
    ada = public_gateway.tenant("ada")
    task_id = ada.jwt.create(T2V, {"prompt": "x #sim-fail"})["task_id"]
    task = Task.get_by_id(task_id)
    url = (f"{public_gateway.base_url}/kling-gateway/callbacks/{task_id}/"
           f"{task.callback_secret}")
    upstream_id = upstream.jobs()[0].task_id
    failed = {"task_id": upstream_id, "task_status": "failed", "task_status_msg": "nope"}
    late = {"task_id": upstream_id, "task_status": "processing"}

    for body in (failed, failed, late, failed):
        assert requests.post(url, json=body, timeout=10).status_code == 200

    assert Task.get_by_id(task_id).status == "failed"
    assert len(public_gateway.charges("refund")) == 1
    other = requests.post(url, json={**failed, "task_id": "someone-else"}, timeout=10)
    assert other.json()["code"] == 1201


def test_without_a_public_url_the_clients_callback_never_goes_upstream(gateway):
    upstream = gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    ada.jwt.create(T2V, {"prompt": "x", "callback_url": "http://127.0.0.1:9/c"})
    assert "callback_url" not in upstream.jobs()[0].body
