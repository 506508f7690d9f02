"""When Kling refuses, fails, is down or answers too late: refunds, failover, no double jobs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest

from kling_gateway.storage.models import LedgerEntry, Task
from tests.support.gateway import CNY, start_gateway

T2V = "/v1/videos/text2video"


def test_failed_task_is_refunded_once_even_with_20_readers_at_once(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    task_id = ada.jwt.create(T2V, {"prompt": "doomed #sim-fail"})["task_id"]
    assert ada.balance == 995 * CNY
    gateway.finish_upstream_tasks()

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: ada.key.get(f"{T2V}/{task_id}").json()["data"],
                                range(20)))

    assert {answer["task_status"] for answer in answers} == {"failed"}
    assert answers[0]["task_status_msg"]
    assert len(gateway.charges("refund")) == 1
    assert ada.balance == 1000 * CNY


def test_content_safety_refusal_is_returned_as_is_and_refunded(gateway):
    upstream = gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    answer = ada.jwt.post(T2V, {"prompt": "forbidden #sim-unsafe", "external_task_id": "u"})

    assert (answer.status_code, answer.json()["code"]) == (400, 1301)
    assert "content security" in answer.json()["message"]
    assert ada.balance == 1000 * CNY
    (task,) = Task.select()
    assert (task.status, task.external_task_id) == ("failed", "u")
    assert [e.kind for e in LedgerEntry.select().where(LedgerEntry.task == task.id)] == [
        "charge", "refund"]
    assert upstream.jobs() == []


def test_an_unavailable_channel_fails_over_to_the_next(gateway):
    broken = gateway.add_upstream("broken", priority=10, failure_rate=1.0, failure_code=5001)
    healthy = gateway.add_upstream("healthy", priority=0)
    ada = gateway.tenant("ada")

    task_id = ada.jwt.create(T2V, {"prompt": "x"})["task_id"]

    assert broken.jobs() == [] and len(healthy.jobs()) == 1
    assert Task.get_by_id(task_id).channel.name == "healthy"
    # the broken channel cools down: the next request goes straight to the healthy one
    ada.jwt.create(T2V, {"prompt": "y"})
    assert len(healthy.jobs()) == 2


def test_when_every_channel_is_down_the_task_fails_and_is_refunded(gateway):
    gateway.add_upstream("only", failure_rate=1.0)
    ada = gateway.tenant("ada")
    answer = ada.jwt.post(T2V, {"prompt": "x"})

    assert (answer.status_code, answer.json()["code"]) == (500, 5000)
    assert Task.get().status == "failed" and ada.balance == 1000 * CNY


def test_no_channel_at_all_is_5001_and_charges_nothing(gateway):
    ada = gateway.tenant("ada")
    answer = ada.jwt.post(T2V, {"prompt": "x"})
    assert (answer.status_code, answer.json()["code"]) == (503, 5001)
    assert ada.balance == 1000 * CNY


def test_a_definite_refusal_is_not_retried_on_another_channel(gateway):
    first = gateway.add_upstream("first", priority=10)
    second = gateway.add_upstream("second")
    ada = gateway.tenant("ada")
    ada.jwt.post(T2V, {"prompt": "#sim-unsafe"})
    assert first.jobs() == second.jobs() == []
    assert ada.jwt.post(T2V, {"prompt": "ok"}).status_code == 200
    assert len(first.jobs()) == 1  # a content refusal does not cool the channel down


@pytest.fixture
def impatient_gateway(database_url):
    """A gateway that gives up on an upstream answer after half a second."""
    with ExitStack() as stack:
        running = start_gateway(database_url, stack, read_timeout=0.5)
        yield running
        running.assert_books_balance()


def test_an_ambiguous_timeout_creates_exactly_one_upstream_job(impatient_gateway):
    slow = impatient_gateway.add_upstream("slow", priority=10, slow_seconds=1.5)
    spare = impatient_gateway.add_upstream("spare")
    ada = impatient_gateway.tenant("ada")

    task = ada.jwt.create(T2V, {"prompt": "take your time #sim-slow", "external_task_id": "t"})

    assert len(slow.jobs()) == 1 and spare.jobs() == []
    stored = Task.get_by_id(task["task_id"])
    assert stored.channel.name == "slow"
    assert stored.upstream_task_id == slow.jobs()[0].task_id
    assert ada.balance == 995 * CNY
