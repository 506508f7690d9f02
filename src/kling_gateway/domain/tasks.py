"""A gateway task's states and the moves between them.

Two states are the gateway's own and shown to clients as ``submitted``: ``submitting`` (charged,
being sent to Kling, or not yet known to have arrived) and ``queued`` (charged, waiting for a
free upstream slot). Once Kling has the task, moves only go forward, and a final state never
changes: a late callback or a slow poller can never undo a result or refund twice.
"""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    SUBMITTING = "submitting"
    QUEUED = "queued"
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
        return TaskStatus.SUBMITTED.value if self in _GATEWAY_ONLY else self.value


_GATEWAY_ONLY = (TaskStatus.SUBMITTING, TaskStatus.QUEUED)
_UPSTREAM_STATES = {TaskStatus.SUBMITTED, TaskStatus.PROCESSING, TaskStatus.SUCCEED,
                    TaskStatus.FAILED}
MOVES: dict[TaskStatus, set[TaskStatus]] = {
    TaskStatus.SUBMITTING: {TaskStatus.QUEUED} | _UPSTREAM_STATES,
    TaskStatus.QUEUED: {TaskStatus.SUBMITTING, TaskStatus.FAILED},
    TaskStatus.SUBMITTED: {TaskStatus.PROCESSING, TaskStatus.SUCCEED, TaskStatus.FAILED},
    TaskStatus.PROCESSING: {TaskStatus.SUCCEED, TaskStatus.FAILED},
    TaskStatus.SUCCEED: set(),
    TaskStatus.FAILED: set(),
}


def can_move(current: TaskStatus, new: TaskStatus) -> bool:
    """Only the moves of ``MOVES``: forward, and never out of a final state."""
    return new in MOVES[current]


def upstream_status(value: object) -> TaskStatus | None:
    """Kling's ``task_status`` as ours; None for anything Kling does not document."""
    try:
        status = TaskStatus(value)
    except ValueError:
        return None
    return None if status in _GATEWAY_ONLY else status
