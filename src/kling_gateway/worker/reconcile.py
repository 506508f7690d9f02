"""One due task, polled on its own: a ``submitting`` one the gateway lost track of (a crash
cut off its create request) is reconciled with its channel, a running one is read from its
channel, and one that ran too long fails.

The lost-after rule: a ``submitting`` task is left alone for ``lost_after_ms`` (its create
request may still be on its way); after that, one never sent anywhere goes to the queue, and
one whose channel does not know it fails and is refunded (``task_sync.refresh_if_stale``).
"""

from __future__ import annotations

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.tasks import TaskStatus
from kling_gateway.services import task_states, task_sync
from kling_gateway.storage.records import TaskRow
from kling_gateway.worker import deadlines
from kling_gateway.worker.context import SyncContext


def handle(sync: SyncContext, task: TaskRow) -> None:
    now = now_ms()
    status = TaskStatus(task.status)
    if deadlines.expire(sync.settings, task, status, now):
        return
    if status is TaskStatus.SUBMITTING and now - task.updated_at <= sync.policy.lost_after_ms:
        return  # its create request may still be on its way: leave it alone for now
    elif status is TaskStatus.SUBMITTING and task.channel_id is None:
        task_states.advance(task.id, TaskStatus.QUEUED)  # never sent anywhere: send it
    else:
        task_sync.refresh_if_stale(sync.upstreams, task, force=True,
                                   lost_after_ms=sync.policy.lost_after_ms)
