"""Telling the client: every change of a task's public status becomes a callback delivery.

``enqueue`` runs inside the transaction that changes the task (an outbox), so a change and its
delivery are written together or not at all, numbered in order per task. The worker sends them
(``kling_gateway.worker.callbacks``).
"""

from __future__ import annotations

from kling_gateway.config import Settings
from kling_gateway.domain.errors import ResourceNotFound
from kling_gateway.services import callback_targets
from kling_gateway.services.views import task_view
from kling_gateway.storage import callbacks as callback_store
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.records import DeliveryRecord, TaskRow


def enqueue(task: TaskRow, now: int) -> None:
    """Record the task's current state for its ``callback_url``, if it has one."""
    if not task.callback_url:
        return
    callback_store.append(task.id, task.callback_url, task_view(task), now)


def deliveries_of(task_id: str) -> list[DeliveryRecord]:
    """Every callback delivery of a task, in order; 1203 for an unknown task."""
    if not task_store.exists(task_id):
        raise ResourceNotFound(f"no task '{task_id}'")
    return callback_store.deliveries_of(task_id)


def check_client_url(url: str | None, settings: Settings) -> None:
    """A client's callback_url must be an unambiguous http(s) URL of a public address (or of an
    allowed network): ``callback_targets``. Checked at submit, and again before every delivery."""
    if url:
        target_of(url, settings)


def target_of(url: str, settings: Settings) -> callback_targets.Target:
    """Where a client's callback URL leads, every address checked; InvalidParameter if it may
    not be called."""
    return callback_targets.check(url, settings.callback_allow_networks,
                                  settings.callback_resolver)
