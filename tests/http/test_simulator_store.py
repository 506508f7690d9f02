"""The simulator's task store answers from indexes; these pin down that it answers as a scan of
every task would: the list order, the order of status changes, and a task dropped behind the
store's back (as tests do to play a lost task)."""

from __future__ import annotations

import pytest

from kling_gateway.domain import families
from kling_gateway.domain.errors import ConcurrencyLimit, ResourceNotFound
from kling_gateway.simulator.settings import SimulatorSettings
from kling_gateway.simulator.tasks import StatusChange, TaskStore
from tests.support.clock import ManualClock

T2V = families.named("text2video")
FILES = "http://sim/files"


def store(**settings: object) -> tuple[TaskStore, ManualClock, list[StatusChange]]:
    clock = ManualClock()
    changes: list[StatusChange] = []
    tasks = TaskStore(SimulatorSettings(**{"task_seconds": 10.0, "concurrency": 5, "seed": 3,
                                           "ticker_seconds": None, **settings}),
                      clock, on_change=changes.append)
    return tasks, clock, changes


def test_the_list_is_newest_first_with_ties_broken_by_task_id():
    tasks, clock, _ = store()
    same_moment = [tasks.create("a", T2V, {"prompt": str(i)}, FILES).task_id for i in range(3)]
    clock.advance(1)
    newest = tasks.create("a", T2V, {"prompt": "later"}, FILES).task_id

    listed = [t.task_id for page in (1, 2) for t in tasks.page("a", T2V, page, 2)]

    assert listed == [newest, *sorted(same_moment, reverse=True)]


def test_tasks_move_in_creation_order_each_through_every_state():
    tasks, clock, changes = store()
    ids = []
    for i in range(3):
        ids.append(tasks.create("a", T2V, {"prompt": str(i), "callback_url": "http://cb"},
                                FILES).task_id)
        clock.advance(0.5)
    changes.clear()
    clock.advance(20)  # every task is past both of its moves

    tasks.tick()

    assert [(c.task["task_id"], c.task["task_status"]) for c in changes] == [
        (task_id, status) for task_id in ids for status in ("processing", "succeed")]


def test_a_task_dropped_from_the_store_is_gone_and_frees_its_slot():
    tasks, _, _ = store(concurrency=1)
    lost = tasks.create("a", T2V, {"prompt": "x", "external_task_id": "mine"}, FILES)
    with pytest.raises(ConcurrencyLimit):
        tasks.create("a", T2V, {"prompt": "y"}, FILES)

    tasks._tasks.pop(lost.task_id)

    with pytest.raises(ResourceNotFound):
        tasks.get("a", T2V, "mine")
    assert tasks.page("a", T2V, 1, 10) == []
    again = tasks.create("a", T2V, {"prompt": "x", "external_task_id": "mine"}, FILES)
    assert tasks.get("a", T2V, "mine") is again


def test_a_finished_task_frees_its_slot():
    tasks, clock, _ = store(concurrency=1)
    tasks.create("a", T2V, {"prompt": "x"}, FILES)
    clock.advance(11)
    assert tasks.create("a", T2V, {"prompt": "y"}, FILES).status == "submitted"
