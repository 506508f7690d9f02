"""The one place that moves a task between states.

Each move is a compare-and-set in one transaction; a move to ``failed`` refunds the task's charge
in that same transaction. Concurrent readers, pollers and callbacks can race freely: only one of
them wins each move, and the refund can happen only once.
"""

from __future__ import annotations

from typing import Any

from kling_gateway import metrics
from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.tasks import TaskStatus, can_move
from kling_gateway.services import callbacks
from kling_gateway.storage import ledger, tasks
from kling_gateway.storage.db import write_transaction
from kling_gateway.storage.models import Task


def advance(task_id: str, new: TaskStatus, **changes: Any) -> bool:
    """Move the task to ``new`` with ``changes``; False when it was not allowed or lost a race."""
    with write_transaction():
        task = Task.get_by_id(task_id)
        current = TaskStatus(task.status)
        if not can_move(current, new):
            return False
        now = now_ms()
        if not tasks.compare_and_set(task_id, current, status=new, updated_at=now,
                                     synced_at=now, **changes):
            return False
        if new is TaskStatus.FAILED:
            _refund(task_id, changes.get("status_msg") or "task failed")
        moved = Task.get_by_id(task_id)
        if new is TaskStatus.SUCCEED and changes.get("result"):
            tasks.remember_videos(moved, changes["result"].get("videos") or [])
        if new.public != current.public:
            callbacks.enqueue(moved, now)
    metrics.task_moved(new.value)
    return True


def touch(task_id: str, **changes: Any) -> None:
    """Record that the upstream was read (and e.g. its task id), without a state change."""
    Task.update(synced_at=now_ms(), **changes).where(Task.id == task_id).execute()


def _refund(task_id: str, reason: str) -> None:
    charge = tasks.charge_of(task_id)
    if charge is not None and ledger.refund(charge.id, note=reason) is not None:
        metrics.refunded(charge.amount, task_id=task_id)
