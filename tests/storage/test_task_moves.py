"""Moving a task when the caller believes it knows the task's state (``advance(believed=…)``):
a right belief saves the read of the state; a stale one must change nothing about the outcome."""

from __future__ import annotations

import pytest

from kling_gateway.domain.tasks import TaskStatus
from kling_gateway.services import accounts, task_states
from kling_gateway.storage import ledger
from kling_gateway.storage.ledger import balance_matches_ledger
from kling_gateway.storage.models import CallbackDelivery, LedgerEntry, Task, User
from tests.support.databases import counted_selects

CNY = 10_000
NOW = 1_700_000_000_000


@pytest.fixture
def task(db) -> Task:
    user = accounts.create_user("ada", balance=10 * CNY)
    stored = Task.create(
        id="17000000000000000001", user=user.id, family="text2video", price_key="k",
        amount=2 * CNY, status=TaskStatus.SUBMITTING, request_body={"prompt": "p"},
        callback_url="https://client.example/hook", created_at=NOW, updated_at=NOW,
        next_poll_at=0)
    ledger.debit(user.id, 2 * CNY, task_id=stored.id, price_key="k")
    return stored


def _set_status(task: Task, status: TaskStatus) -> None:
    Task.update(status=status).where(Task.id == task.id).execute()


def _callbacks(task: Task) -> list[str]:
    return [delivery.payload["task_status"] for delivery in
            CallbackDelivery.select().where(CallbackDelivery.task == task.id)
            .order_by(CallbackDelivery.sequence)]


def test_a_right_belief_moves_the_task_without_reading_its_state_first(task):
    with counted_selects() as selects:
        moved = task_states.advance(task.id, TaskStatus.SUBMITTED,
                                    believed=TaskStatus.SUBMITTING, upstream_task_id="up-1")
    assert moved is not None and (moved.status, moved.upstream_task_id) == ("submitted",
                                                                              "up-1")
    assert selects == []  # one UPDATE … RETURNING did it all
    assert _callbacks(task) == []  # submitting and submitted look alike to the client


def test_a_stale_belief_still_moves_the_task_from_the_state_it_is_in(task):
    _set_status(task, TaskStatus.PROCESSING)
    moved = task_states.advance(task.id, TaskStatus.SUCCEED, believed=TaskStatus.SUBMITTING,
                                result={"videos": []})
    assert moved is not None and moved.status == "succeed"
    assert _callbacks(task) == ["succeed"]


def test_a_stale_belief_cannot_move_a_task_back_or_repeat_a_move(task):
    _set_status(task, TaskStatus.PROCESSING)
    assert task_states.advance(task.id, TaskStatus.PROCESSING,
                               believed=TaskStatus.SUBMITTING) is None
    _set_status(task, TaskStatus.SUCCEED)
    assert task_states.advance(task.id, TaskStatus.SUBMITTED,
                               believed=TaskStatus.SUBMITTING) is None
    assert Task.get_by_id(task.id).status == "succeed"
    assert _callbacks(task) == []


@pytest.mark.parametrize("actual", [TaskStatus.SUBMITTING, TaskStatus.PROCESSING])
def test_a_failure_refunds_once_whatever_the_belief(task, actual):
    _set_status(task, actual)
    for _ in range(2):
        task_states.advance(task.id, TaskStatus.FAILED, believed=TaskStatus.SUBMITTING,
                            status_msg="upstream said no")
    refunds = LedgerEntry.select().where(LedgerEntry.kind == "refund")
    assert [entry.amount for entry in refunds] == [2 * CNY]
    assert User.get_by_id(task.user_id).balance == 10 * CNY
    assert balance_matches_ledger(task.user_id)
