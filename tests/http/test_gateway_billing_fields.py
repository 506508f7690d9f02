"""Kling's billing fields pass through the gateway, and the gateway says what it charged
(issue 15, item 6): on get, list and the client's callbacks, in the official shape, and only
when Kling sent them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import requests

from kling_gateway.storage.models import Task
from kling_gateway.worker.callbacks import deliver_due
from tests.support.callbacks import callback_receiver
from tests.support.gateway import Gateway

T2V = "/v1/videos/text2video"
CHARGED = {"amount": "5.00", "currency": "CNY", "refunded": False}
"""kling-v1 std 5 s, as the seeded price table has it."""
PARENT = {"id": "v-parent", "url": "https://cdn.example.com/parent.mp4", "duration": "5"}


def report(gateway: Gateway, task_id: str, body: dict[str, Any]) -> None:
    """Kling reports the task to the gateway's callback URL for it."""
    task = Task.get_by_id(task_id)
    url = f"{gateway.base_url}/kling-gateway/callbacks/{task_id}/{task.callback_secret}"
    answer = requests.post(url, json={"task_id": task.upstream_task_id, **body}, timeout=10)
    assert answer.status_code == 200, answer.text


def test_kling_units_reach_get_list_and_the_client_callback(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    with callback_receiver() as receiver:
        body = {"prompt": "x", "mode": "pro", "duration": "10", "callback_url": receiver.url}
        task_id = ada.jwt.create(T2V, body)["task_id"]
        running = ada.jwt.get(f"{T2V}/{task_id}").json()["data"]
        gateway.finish_upstream_tasks()
        done = ada.jwt.get(f"{T2V}/{task_id}").json()["data"]
        (listed,) = ada.jwt.get(T2V).json()["data"]
        deliver_due(gateway.context.settings)

    assert "final_unit_deduction" not in running  # Kling has not said yet
    assert done["final_unit_deduction"] == "7"  # the simulator: kling-v1 pro, 0.7 units a second
    assert done == listed == receiver.received[-1]
    assert "final_balance_deduction" not in done  # the simulator never sends it


def test_every_billing_field_kling_sends_is_kept_and_relayed(public_gateway):
    public_gateway.add_upstream("sim")
    ada = public_gateway.tenant("ada")
    with callback_receiver() as receiver:
        task_id = ada.jwt.create(T2V, {"prompt": "x", "external_task_id": "mine",
                                       "callback_url": receiver.url})["task_id"]
        report(public_gateway, task_id, {
            "task_status": "succeed", "task_status_msg": "",
            "task_info": {"external_task_id": task_id, "parent_video": PARENT},
            "task_result": {"videos": [{"id": "v-1", "url": "https://cdn.example.com/v.mp4",
                                        "duration": "5.1"}]},
            "watermark_info": {"enabled": False}, "final_unit_deduction": "2.5",
            "final_balance_deduction": {"quota": "2.25", "list_price": "2.5"},
            "created_at": 1, "updated_at": 2})
        # A late, repeated report without them changes nothing.
        report(public_gateway, task_id, {"task_status": "succeed"})
        task = ada.jwt.get(f"{T2V}/{task_id}").json()["data"]
        (listed,) = ada.jwt.get(T2V).json()["data"]
        deliver_due(public_gateway.context.settings)

    assert task["task_info"] == {"external_task_id": "mine", "parent_video": PARENT}
    assert task["watermark_info"] == {"enabled": False}
    assert task["final_unit_deduction"] == "2.5"
    assert task["final_balance_deduction"] == {"quota": "2.25", "list_price": "2.5"}
    assert list(task)[-3:] == ["created_at", "updated_at", "gateway_charge"]
    assert task == listed == receiver.received[-1]


def test_a_field_of_another_shape_is_written_officially_or_left_out(public_gateway):
    public_gateway.add_upstream("sim")
    ada = public_gateway.tenant("ada")
    task_id = ada.jwt.create(T2V, {"prompt": "x"})["task_id"]
    report(public_gateway, task_id, {"task_status": "succeed", "final_unit_deduction": 3,
                                     "final_balance_deduction": "3 CNY",
                                     "task_info": {"parent_video": "v-parent"}})
    task = ada.jwt.get(f"{T2V}/{task_id}").json()["data"]  # validated against the contract
    assert task["final_unit_deduction"] == "3"
    assert "final_balance_deduction" not in task and task["task_info"] == {}


def test_the_charge_is_on_every_task_object_and_agrees_with_account_costs(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada", balance_cny=50)
    with callback_receiver() as receiver:
        created = ada.jwt.create(T2V, {"prompt": "fine", "callback_url": receiver.url})
        failing = ada.jwt.create(T2V, {"prompt": "x #sim-fail", "callback_url": receiver.url})
        gateway.finish_upstream_tasks()
        done = ada.jwt.get(f"{T2V}/{created['task_id']}").json()["data"]
        failed = ada.jwt.get(f"{T2V}/{failing['task_id']}").json()["data"]
        listed = ada.jwt.get(T2V).json()["data"]
        deliver_due(gateway.context.settings)

    assert created["gateway_charge"] == failing["gateway_charge"] == done["gateway_charge"] \
        == CHARGED
    assert failed["task_status"] == "failed"
    assert failed["gateway_charge"] == {**CHARGED, "refunded": True}
    by_id = {done["task_id"]: done, failed["task_id"]: failed}
    assert {task["task_id"]: task for task in listed} == by_id
    assert {call["task_id"]: call for call in receiver.received} == by_id  # the last of each

    costs = ada.key.get("/account/costs", start_time=0, end_time=1).json()["data"]
    (pack,) = costs["resource_pack_subscribe_infos"]
    kept = sum(Decimal(task["gateway_charge"]["amount"]) for task in listed
               if not task["gateway_charge"]["refunded"])
    assert Decimal(str(pack["total_quantity"] - pack["remaining_quantity"])) == kept == 5
