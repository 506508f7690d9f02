"""Callbacks, the concurrency limit, fault controls and account costs of the simulator."""

from __future__ import annotations

import pytest

from tests.support.bodies import TASK_FAMILIES
from tests.support.callbacks import callback_receiver

T2V = "/v1/videos/text2video"
IMG = "/v1/images/generations"


def test_callbacks_carry_every_status_change_in_order(sim):
    with callback_receiver() as receiver:
        task = sim.api.create(T2V, {"prompt": "a cat", "external_task_id": "cb-1",
                                    "callback_url": receiver.url})
        sim.finish_tasks()
        sim.api.get(f"{T2V}/{task['task_id']}")  # the simulator moves tasks when asked
        calls = receiver.wait_for(3)

    assert [call["task_status"] for call in calls] == ["submitted", "processing", "succeed"]
    assert all("code" not in call and "data" not in call for call in calls)  # bare task object
    assert {call["task_id"] for call in calls} == {task["task_id"]}
    assert calls[-1]["task_info"] == {"external_task_id": "cb-1"}
    assert calls[-1]["task_result"]["videos"][0]["url"].endswith(".mp4")
    assert receiver.headers[0]["Content-Type"] == "application/json; charset=utf-8"


def test_failed_task_is_reported_with_its_reason(sim):
    with callback_receiver() as receiver:
        task = sim.api.create(T2V, {"prompt": "doomed #sim-fail", "callback_url": receiver.url})
        sim.finish_tasks()
        final = sim.api.get(f"{T2V}/{task['task_id']}").json()["data"]
        calls = receiver.wait_for(3)

    assert final["task_status"] == "failed"
    assert final["task_status_msg"] and "task_result" not in final
    assert calls[-1]["task_status"] == "failed"
    assert calls[-1]["task_status_msg"] == final["task_status_msg"]


def test_concurrency_limit_is_1303_and_frees_when_tasks_end(start_simulator):
    sim = start_simulator(concurrency=3)
    for _ in range(3):
        sim.api.create(T2V, {"prompt": "busy"})

    refused = sim.api.post(T2V, {"prompt": "one too many"})
    assert refused.status_code == 429
    assert refused.json()["code"] == 1303
    assert refused.json()["message"] == "parallel task over resource pack limit"

    sim.finish_tasks()
    assert sim.api.post(T2V, {"prompt": "room again"}).status_code == 200


def test_an_image_task_holds_n_slots(start_simulator):
    sim = start_simulator(concurrency=5)
    sim.api.create(IMG, {"prompt": "three", "n": 3})
    assert sim.api.post(IMG, {"prompt": "three more", "n": 3}).json()["code"] == 1303
    assert sim.api.post(IMG, {"prompt": "two fit", "n": 2}).status_code == 200


def test_concurrency_is_counted_per_account(start_simulator):
    sim = start_simulator(concurrency=1, accounts={"a": "sa-0123456789abcdef0123456789abcdef",
                                                   "b": "sb-0123456789abcdef0123456789abcdef"})
    sim.client("a", "sa-0123456789abcdef0123456789abcdef").create(T2V, {"prompt": "x"})
    assert sim.client("b", "sb-0123456789abcdef0123456789abcdef").post(
        T2V, {"prompt": "x"}).status_code == 200


@pytest.mark.parametrize(("marker", "status", "code"), [
    ("#sim-unsafe", 400, 1301), ("#sim-500", 500, 5000), ("#sim-503", 503, 5001)])
def test_prompt_markers_refuse_the_create(sim, marker, status, code):
    answer = sim.api.post(T2V, {"prompt": f"test {marker}"})
    assert answer.status_code == status
    assert answer.json()["code"] == code
    assert sim.api.get(T2V).json()["data"] == []  # nothing was created


def test_failure_rate_one_refuses_every_create_but_not_queries(start_simulator):
    sim = start_simulator(failure_rate=1.0)
    answer = sim.api.post(T2V, {"prompt": "x"})
    assert (answer.status_code, answer.json()["code"]) == (500, 5000)
    assert sim.api.get(T2V).status_code == 200


def test_failure_code_chooses_the_refusal(start_simulator):
    sim = start_simulator(failure_rate=1.0, failure_code=5001)
    answer = sim.api.post(T2V, {"prompt": "x"})
    assert (answer.status_code, answer.json()["code"]) == (503, 5001)


def test_slow_marker_still_creates_the_task(start_simulator):
    sim = start_simulator(slow_seconds=0.2)
    task = sim.api.create(T2V, {"prompt": "take your time #sim-slow", "external_task_id": "s"})
    assert sim.api.get(f"{T2V}/s").json()["data"]["task_id"] == task["task_id"]


def test_watermark_is_echoed_and_adds_a_watermarked_copy(start_simulator):
    sim = start_simulator(concurrency=100)
    for family in TASK_FAMILIES:
        sim.api.create(family.path, {**family.body, "watermark_info": {"enabled": True}})
    sim.finish_tasks()
    for family in TASK_FAMILIES:
        (task,) = sim.api.get(family.path).json()["data"]
        assert task["watermark_info"] == {"enabled": True}
        result = task["task_result"]
        items = result.get("videos") or result.get("images")
        assert all(item["watermark_url"].startswith(sim.base_url) for item in items)


def test_account_costs_in_the_official_shape(sim):
    task_id = sim.api.create(IMG, {"prompt": "two", "n": 2})["task_id"]
    sim.finish_tasks()
    units = float(sim.api.get(f"{IMG}/{task_id}").json()["data"]["final_unit_deduction"])
    answer = sim.api.get("/account/costs", start_time=0, end_time=int(sim.clock() * 1000))

    (pack,) = answer.json()["data"]["resource_pack_subscribe_infos"]
    assert answer.json()["data"]["code"] == 0
    assert units == 16  # two images of the default model, kling-v3, at 8 image units each
    assert pack["remaining_quantity"] == pack["total_quantity"] - units
    assert pack["status"] == "online"
    other = sim.api.get("/account/costs", start_time=0, end_time=1, resource_pack_name="nope")
    assert other.json()["data"]["resource_pack_subscribe_infos"] == []


def test_account_costs_needs_its_time_window(sim):
    answer = sim.api.get("/account/costs", start_time=0)
    assert (answer.status_code, answer.json()["code"]) == (400, 1201)
    assert "end_time" in answer.json()["message"]


ACCOUNTS = {"paid": "s-paid-0123456789abcdef0123456789ab",
            "owing": "s-owing-0123456789abcdef0123456789a"}


@pytest.mark.parametrize(("code", "message"), [
    (1100, "account exception"), (1101, "account in arrears"),
    (1102, "resource pack exhausted or expired")])
def test_an_account_with_a_problem_is_refused_on_every_call_until_it_is_solved(
        start_simulator, code, message):
    sim = start_simulator(accounts=ACCOUNTS, account_problems={"owing": code})
    owing = sim.client("owing", ACCOUNTS["owing"])
    for answer in (owing.post(T2V, {"prompt": "x"}), owing.get(T2V),
                   owing.get("/account/costs", start_time=0, end_time=1)):
        assert (answer.status_code, answer.json()["code"]) == (429, code)
        assert answer.json()["message"] == message
    assert sim.client("paid", ACCOUNTS["paid"]).post(T2V, {"prompt": "x"}).status_code == 200

    del sim.simulator.account_problems["owing"]  # the bill is paid
    assert owing.post(T2V, {"prompt": "x"}).status_code == 200


def test_a_wrong_secret_key_is_1000_before_any_account_problem(start_simulator):
    sim = start_simulator(accounts=ACCOUNTS, account_problems={"owing": 1101})
    answer = sim.client("owing", "not-the-secret-0123456789abcdef01").get(T2V)
    assert (answer.status_code, answer.json()["code"]) == (401, 1000)


def test_an_account_may_be_limited_to_some_models(start_simulator):
    sim = start_simulator(accounts=ACCOUNTS, account_models={"paid": ("kling-v2-master",)})
    paid = sim.client("paid", ACCOUNTS["paid"])
    refused = paid.post(T2V, {"prompt": "x"})  # the default model, kling-v1
    assert (refused.status_code, refused.json()["code"]) == (403, 1103)
    assert "kling-v1" in refused.json()["message"]
    assert paid.post(T2V, {"prompt": "x", "model_name": "kling-v2-master"}).status_code == 200
    assert sim.client("owing", ACCOUNTS["owing"]).post(T2V, {"prompt": "x"}).status_code == 200
    assert len(paid.get(T2V).json()["data"]) == 1  # the refused create made nothing
