"""How long a task may wait in the queue or run: past that it fails, and is refunded."""

from __future__ import annotations

from kling_gateway.config import Settings
from kling_gateway.domain.tasks import TaskStatus
from kling_gateway.services import task_states
from kling_gateway.storage.records import TaskRow


def expire(settings: Settings, task: TaskRow, status: TaskStatus, now: int) -> bool:
    """Fail (and refund) a task that waited or ran too long; whether it did."""
    reason = too_old(settings, task, status, now)
    if reason:
        task_states.advance(task.id, TaskStatus.FAILED, status_msg=reason)
    return bool(reason)


def too_old(settings: Settings, task: TaskRow, status: TaskStatus, now: int) -> str:
    """Why the task waited or ran too long; empty if it did not."""
    age_ms = now - task.created_at
    if status is TaskStatus.QUEUED and age_ms > settings.queue_timeout_seconds * 1000:
        return (f"no upstream slot became free within "
                f"{settings.queue_timeout_seconds // 60} minutes")
    if age_ms > settings.task_timeout_seconds * 1000:
        return f"the task did not finish within {settings.task_timeout_seconds} s"
    return ""
