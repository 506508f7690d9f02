"""A channel whose keys or account Kling refuses: the client is served by another channel (or
told 5001 and refunded), never shown Kling's refusal of the gateway's own account; the channel
leaves rotation, visibly, and comes back by the worker's check or an operator."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from kling_gateway.app import ADMIN_BASE_PATH
from kling_gateway.domain.clock import now_ms
from kling_gateway.services import channels
from kling_gateway.storage.models import Task
from tests.http.test_admin_api import AdminApi
from tests.http.test_gateway_multi_elements import ME, POINT, open_session
from tests.http.test_ops_metrics import Scrape
from tests.support.gateway import CNY, SIM_KEY, Gateway

T2V = "/v1/videos/text2video"
WRONG_SECRET = "not-the-upstream-secret-0123456789abcdef"
CHECK_MS = 60_000
"""The default ``channel_check_seconds``."""


def admin(gateway: Gateway) -> AdminApi:
    return AdminApi(gateway.base_url + ADMIN_BASE_PATH, "admin-token")


def out_of_rotation(gateway: Gateway, name: str) -> dict[str, Any] | None:
    return admin(gateway).data("GET", f"/channels/{name}")["out_of_rotation"]


def test_a_channel_whose_keys_are_refused_is_failed_over_and_taken_out(gateway, caplog):
    caplog.set_level(logging.WARNING, logger="kling_gateway")
    gateway.add_upstream("typo", priority=10, secret_key=WRONG_SECRET)
    healthy = gateway.add_upstream("healthy")
    ada = gateway.tenant("ada")
    before = Scrape(gateway)

    answers = [ada.jwt.post(T2V, {"prompt": f"p{i}"}) for i in range(5)]

    assert [answer.status_code for answer in answers] == [200] * 5
    assert len(healthy.jobs()) == 5
    assert {task.channel.name for task in Task.select()} == {"healthy"}
    assert ada.balance == (1000 - 5 * 5) * CNY
    broken = out_of_rotation(gateway, "typo")
    assert broken == {"code": 1000, "reason": "authentication failed: signature mismatch",
                      "since": broken["since"], "last_checked_at": None}
    assert broken["since"] <= now_ms()
    assert out_of_rotation(gateway, "healthy") is None

    after = Scrape(gateway)
    assert after.value("kling_gateway_channel_out_of_rotation", channel="typo") == 1
    assert after.value("kling_gateway_channel_out_of_rotation", channel="healthy") == 0
    assert after.grew(before, "kling_gateway_channels_taken_out_total",
                      channel="typo", code="1000") == 1
    # out of rotation: only the first create tried it
    assert after.grew(before, "kling_gateway_upstream_requests_total",
                      channel="typo", outcome="refused") == 1
    (warning,) = [r.getMessage() for r in caplog.records if "out of rotation" in r.getMessage()]
    assert "typo" in warning and "1000" in warning and WRONG_SECRET not in caplog.text


@pytest.mark.parametrize("problem", [1100, 1101, 1102, 1304])
def test_when_no_channel_can_serve_the_client_gets_5001_and_its_money_back(gateway, problem):
    gateway.add_upstream("typo", priority=10, secret_key=WRONG_SECRET)
    owing = gateway.add_upstream("owing", account_problems={SIM_KEY[0]: problem})
    ada = gateway.tenant("ada")

    for _ in range(2):  # the first request takes both out, the second finds none in rotation
        answer = ada.jwt.post(T2V, {"prompt": "x"})
        assert (answer.status_code, answer.json()["code"]) == (503, 5001)
        assert "authentication" not in answer.json()["message"]

    assert ada.balance == 1000 * CNY
    assert [task.status for task in Task.select()] == ["failed", "failed"]  # not queued
    assert len(gateway.charges("refund")) == 2
    assert owing.jobs() == []
    assert out_of_rotation(gateway, "typo")["code"] == 1000
    assert out_of_rotation(gateway, "owing")["code"] == problem


def test_a_task_waits_for_a_busy_channel_rather_than_fail_on_a_refused_one(gateway):
    gateway.add_upstream("typo", priority=10, secret_key=WRONG_SECRET)
    busy = gateway.add_upstream("busy", concurrency=1)
    ada = gateway.tenant("ada")
    ada.jwt.create(T2V, {"prompt": "holds the only slot"})
    channels.update_channel("typo", enabled=True)  # in rotation again, still refused

    waiting = ada.jwt.create(T2V, {"prompt": "x"})  # refused by one, 1303 from the other

    assert Task.get_by_id(waiting["task_id"]).status == "queued"
    assert len(busy.jobs()) == 1 and ada.balance == 990 * CNY


def test_a_model_the_account_lacks_moves_on_and_leaves_the_channel_in_rotation(gateway):
    limited = gateway.add_upstream("limited", priority=10,
                                   account_models={SIM_KEY[0]: ("kling-v2-master",)})
    spare = gateway.add_upstream("spare")
    ada = gateway.tenant("ada")

    ada.jwt.create(T2V, {"prompt": "x"})  # kling-v1: the limited account may not
    ada.jwt.create(T2V, {"prompt": "x", "model_name": "kling-v2-master"})

    assert len(spare.jobs()) == 1 and len(limited.jobs()) == 1
    assert out_of_rotation(gateway, "limited") is None


def test_a_model_no_account_may_use_is_5001_not_the_accounts_1103(gateway):
    gateway.add_upstream("limited", account_models={SIM_KEY[0]: ("kling-v2-master",)})
    ada = gateway.tenant("ada")
    answer = ada.jwt.post(T2V, {"prompt": "x"})
    assert (answer.status_code, answer.json()["code"]) == (503, 5001)
    assert ada.balance == 1000 * CNY
    assert out_of_rotation(gateway, "limited") is None


def test_the_worker_checks_a_channel_and_puts_it_back_once_kling_accepts_it(gateway):
    owing = gateway.add_upstream("owing", priority=10, account_problems={SIM_KEY[0]: 1101})
    gateway.add_upstream("spare")
    ada = gateway.tenant("ada")
    ada.jwt.create(T2V, {"prompt": "x"})
    since = out_of_rotation(gateway, "owing")["since"]
    syncer = gateway.syncer()

    syncer.run_once(now=since + CHECK_MS - 1)  # not its turn yet
    assert out_of_rotation(gateway, "owing")["last_checked_at"] is None
    syncer.run_once(now=since + CHECK_MS)  # checked: still in arrears
    assert out_of_rotation(gateway, "owing") == {
        "code": 1101, "reason": "account in arrears", "since": since,
        "last_checked_at": since + CHECK_MS}

    owing.simulator.account_problems.clear()  # the bill is paid
    syncer.run_once(now=since + 2 * CHECK_MS - 1)  # the next check is a whole interval later
    assert out_of_rotation(gateway, "owing") is not None
    syncer.run_once(now=since + 2 * CHECK_MS)
    assert out_of_rotation(gateway, "owing") is None

    ada.jwt.create(T2V, {"prompt": "y"})
    assert len(owing.jobs()) == 1  # the highest priority takes new work again


def test_new_keys_from_an_operator_put_a_channel_back_at_once(gateway):
    typo = gateway.add_upstream("typo", priority=10, secret_key=WRONG_SECRET)
    gateway.add_upstream("spare")
    ada = gateway.tenant("ada")
    ada.jwt.create(T2V, {"prompt": "x"})
    api = admin(gateway)

    assert api.data("PATCH", "/channels/typo", json={"weight": 2})["out_of_rotation"]
    assert api.data("PATCH", "/channels/typo",
                    json={"secret_key": SIM_KEY[1]})["out_of_rotation"] is None

    ada.jwt.create(T2V, {"prompt": "y"})
    assert len(typo.jobs()) == 1


def test_enabling_a_channel_puts_it_back_at_once(gateway):
    owing = gateway.add_upstream("owing", priority=10, account_problems={SIM_KEY[0]: 1102})
    gateway.add_upstream("spare")
    ada = gateway.tenant("ada")
    ada.jwt.create(T2V, {"prompt": "x"})
    owing.simulator.account_problems.clear()  # a new resource pack was bought

    assert admin(gateway).data("POST", "/channels/owing/enable")["out_of_rotation"] is None
    ada.jwt.create(T2V, {"prompt": "y"})
    assert len(owing.jobs()) == 1


def test_keys_going_bad_while_a_task_runs_do_not_fail_it_nor_show_to_the_client(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    task_id = ada.jwt.create(T2V, {"prompt": "x"})["task_id"]
    api = admin(gateway)
    api.data("PATCH", "/channels/sim", json={"secret_key": WRONG_SECRET})  # an operator's typo
    gateway.finish_upstream_tasks()

    gateway.syncer().run_once(now=now_ms() + 5_000)
    read = ada.jwt.get(f"{T2V}/{task_id}")  # asks the upstream too, which refuses

    assert read.status_code == 200 and read.json()["data"]["task_status"] == "submitted"
    assert Task.get_by_id(task_id).status == "submitted"
    assert ada.balance == 995 * CNY
    assert out_of_rotation(gateway, "sim")["code"] == 1000

    api.data("PATCH", "/channels/sim", json={"secret_key": SIM_KEY[1]})
    assert ada.jwt.get(f"{T2V}/{task_id}").json()["data"]["task_status"] == "succeed"


def test_a_selection_moves_on_from_a_refused_channel_and_a_pinned_one_is_5001(gateway):
    owing = gateway.add_upstream("owing", priority=10)
    spare = gateway.add_upstream("spare", seed=12)  # Kling's session ids differ per account
    ada = gateway.tenant("ada")
    pinned = open_session(ada.jwt)  # on "owing", while it works
    owing.simulator.account_problems[SIM_KEY[0]] = 1101

    moved = open_session(ada.jwt)  # init-selection by URL may go to any channel
    assert spare.simulator.selections.session(SIM_KEY[0], moved)
    refused = ada.jwt.post(f"{ME}/add-selection", {"session_id": pinned, "frame_index": 0,
                                                   "points": POINT})
    assert (refused.status_code, refused.json()["code"]) == (503, 5001)
    assert ada.balance == (1000 - 5 - 5) * CNY  # two sessions opened; the add is refunded
    assert out_of_rotation(gateway, "owing")["code"] == 1101
