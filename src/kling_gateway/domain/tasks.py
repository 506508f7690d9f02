"""A gateway task's states and the moves between them.

``submitting`` is the gateway's own state between charging and hearing back from Kling; clients
see it as ``submitted``. Moves only go forward, and a final state never changes: so a late
callback or a slow poller can never undo a result or refund twice.
"""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    PROCESSING = "processing"
    SUCCEED = "succeed"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in (TaskStatus.SUCCEED, TaskStatus.FAILED)

    @property
    def public(self) -> str:
        """The official status a client sees."""
        return TaskStatus.SUBMITTED.value if self is TaskStatus.SUBMITTING else self.value


_RANK = {TaskStatus.SUBMITTING: 0, TaskStatus.SUBMITTED: 1, TaskStatus.PROCESSING: 2,
         TaskStatus.SUCCEED: 3, TaskStatus.FAILED: 3}


def can_move(current: TaskStatus, new: TaskStatus) -> bool:
    """Forward only, and never out of a final state."""
    return not current.is_final and _RANK[new] > _RANK[current]


def upstream_status(value: object) -> TaskStatus | None:
    """Kling's ``task_status`` as ours; None for anything Kling does not document."""
    try:
        status = TaskStatus(value)
    except ValueError:
        return None
    return None if status is TaskStatus.SUBMITTING else status
