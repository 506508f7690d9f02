"""The one place that moves a task between states.

Each move is a compare-and-set in one transaction; a move to ``failed`` refunds the task's charge
in that same transaction. Concurrent readers, pollers and callbacks can race freely: only one of
them wins each move, and the refund can happen only once.
"""

from __future__ import annotations

from typing import Any

from kling_gateway import metrics
from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.owned import made_by, seconds_of
from kling_gateway.domain.tasks import TaskStatus, can_move
from kling_gateway.services import billing, callbacks
from kling_gateway.storage import ledger, owned, tasks
from kling_gateway.storage.db import write_transaction
from kling_gateway.storage.records import TaskRow


def advance(task_id: str, new: TaskStatus, *, believed: TaskStatus | None = None,
            **changes: Any) -> TaskRow | None:
    """Move the task to ``new`` with ``changes`` and answer it as moved; None when the move was
    not allowed or lost a race. ``believed``: the state the caller last saw the task in. It
    saves reading the state first; if the task has moved on since, the state is read anyway."""
    with write_transaction():
        now = now_ms()
        changes.update(status=new, updated_at=now, synced_at=now)
        current = believed
        moved = None if believed is None else _move_from(task_id, believed, new, changes)
        if moved is None:
            current = TaskStatus(tasks.status_of(task_id))
            moved = _move_from(task_id, current, new, changes)
        if moved is None:
            return None
        if new is TaskStatus.FAILED:
            _refund(task_id, changes.get("status_msg") or "task failed")
        if new is TaskStatus.SUCCEED and changes.get("result"):
            owned.remember(made_by(changes["result"]), user_id=moved.user_id,
                           channel_id=moved.channel_id, now=now, task_id=moved.id,
                           seconds=seconds_of(changes["result"]))
            _settle(moved, changes["result"], now)
        if new.public != current.public:
            callbacks.enqueue(moved, now)
    metrics.task_moved(new.value)
    return moved


def _move_from(task_id: str, current: TaskStatus, new: TaskStatus,
               changes: dict[str, Any]) -> TaskRow | None:
    """The compare-and-set from ``current``, if moving from it to ``new`` is allowed at all."""
    return tasks.compare_and_set(task_id, current, **changes) if can_move(current, new) else None


def touch(task_id: str, **changes: Any) -> None:
    """Record that the upstream was read (and e.g. its task id), without a state change."""
    tasks.touch(task_id, now_ms(), **changes)


def _settle(task: TaskRow, result: dict[str, Any], now: int) -> None:
    """A task charged for the longest output it might make now costs what it made; the
    answer and the callback show the final amount."""
    final = billing.settle(task, result)
    if final is not None:
        tasks.touch(task.id, now, amount=final)
        task.amount = final


def _refund(task_id: str, reason: str) -> None:
    charge = ledger.charge_of(task_id)
    if charge is not None:
        billing.refund(charge.id, reason)
