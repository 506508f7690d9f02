"""Reading and listing a caller's tasks (a read refreshes a stale task from upstream first),
and the state Kling reports to the gateway's callback URL."""

from __future__ import annotations

import hmac
from typing import Any

from kling_gateway import logs
from kling_gateway.domain.errors import InvalidParameter, ResourceNotFound
from kling_gateway.domain.families import TaskFamily
from kling_gateway.services.auth import Caller
from kling_gateway.services.context import GatewayContext
from kling_gateway.services.task_sync import apply_upstream, refresh_if_stale
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.records import TaskRow


def find(context: GatewayContext, caller: Caller, family: TaskFamily,
         task_or_external_id: str) -> TaskRow:
    """The caller's task (another user's is reported as not existing), refreshed if stale."""
    task = task_store.find_own(caller.user_id, family.name, task_or_external_id)
    if task is None:
        raise ResourceNotFound(f"task not found: {task_or_external_id}")
    logs.note(task_id=task.id)
    if refresh_if_stale(context.upstreams, task):
        return task_store.get(task.id)  # the refresh may have moved it
    return task  # nothing asked upstream: the row just read is the answer


def page(caller: Caller, family: TaskFamily, page_num: int, page_size: int) -> list[TaskRow]:
    return task_store.page_own(caller.user_id, family.name, page_num, page_size)


def receive_callback(task_id: str, secret: str, data: dict[str, Any]) -> None:
    """Kling reports a task's state to the gateway's per-task callback URL: applied exactly like
    a poll, so duplicates, late and out-of-order deliveries change nothing."""
    task = task_store.find(task_id)
    if (task is None or not task.callback_secret
            or not hmac.compare_digest(task.callback_secret.encode(), secret.encode())):
        raise ResourceNotFound("no such callback")
    if task.upstream_task_id and str(data.get("task_id")) != task.upstream_task_id:
        raise InvalidParameter("invalid parameter 'task_id': not the task of this callback")
    apply_upstream(task_id, data)
