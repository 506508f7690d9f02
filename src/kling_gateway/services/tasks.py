"""Creating, reading and listing a caller's tasks; reads refresh a stale task from upstream."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from kling_gateway.domain import rules
from kling_gateway.domain.errors import KlingError, ResourceNotFound
from kling_gateway.domain.families import Family
from kling_gateway.domain.tasks import TaskStatus, upstream_status
from kling_gateway.services import billing, relay, selections, task_states
from kling_gateway.services.auth import Caller
from kling_gateway.services.upstreams import Upstreams
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.db import write_transaction
from kling_gateway.storage.models import Channel, Task
from kling_gateway.upstream.errors import UpstreamError
from kling_gateway.upstream.paths import TASK_PATHS

log = logging.getLogger(__name__)
NEVER_CREATED_AFTER_MS = 120_000
"""A ``submitting`` task the upstream still does not know after this is failed and refunded."""
LOCAL_FIELDS = ("external_task_id", "callback_url")
"""Kept by the gateway; the gateway's own id goes upstream as ``external_task_id``."""


def new_task_id() -> str:
    """Kling-like numeric ids, ordered by time, unique across gateway instances."""
    return f"{task_states.now_ms()}{secrets.randbelow(10**6):06d}"


def submit(upstreams: Upstreams, caller: Caller, family: Family, body: dict[str, Any]) -> Task:
    """Validate, charge and record, then create the task upstream (or fail and refund)."""
    rules.check(family.value, body)
    bill = billing.bill_for(family.value, body, caller)
    channels = _channels_for(upstreams, caller, family, body, bill.quote.model_name)
    task_id = new_task_id()
    with write_transaction():
        now = task_states.now_ms()
        task_store.insert(
            id=task_id, user=caller.user_id, token=caller.token_id, family=family.value,
            model_name=bill.quote.model_name, mode=bill.quote.mode,
            duration=bill.quote.duration, price_key=bill.quote.key, amount=bill.total,
            external_task_id=body.get("external_task_id") or None,
            status=TaskStatus.SUBMITTING, request_body=body,
            callback_url=body.get("callback_url") or None, created_at=now, updated_at=now)
        billing.charge(caller, bill, task_id=task_id)
    _send(upstreams, task_id, family, body, channels)
    return Task.get_by_id(task_id)


def upstream_body(body: dict[str, Any], gateway_task_id: str) -> dict[str, Any]:
    """The client's body as sent, unknown fields included, with the gateway's id as
    ``external_task_id`` and without the client's ``callback_url``."""
    forwarded = {key: value for key, value in body.items() if key not in LOCAL_FIELDS}
    forwarded["external_task_id"] = gateway_task_id
    return forwarded


def _channels_for(upstreams: Upstreams, caller: Caller, family: Family, body: dict[str, Any],
                  model: str | None) -> list[Channel]:
    if family is Family.MULTI_ELEMENTS:  # an edit runs on the account holding its session
        return [selections.channel_of(selections.owned_session(caller, body["session_id"]))]
    return upstreams.candidates(model)


def _send(upstreams: Upstreams, task_id: str, family: Family, body: dict[str, Any],
          channels: list[Channel]) -> None:
    path = TASK_PATHS[family]
    try:
        channel, data = relay.send_task(upstreams, channels, path,
                                        upstream_body(body, task_id), task_id)
    except relay.SubmitUnresolved as unresolved:
        log.warning("task %s: upstream outcome unknown, will reconcile: %s", task_id, unresolved)
        task_states.touch(task_id, channel=unresolved.channel.id)
        return
    except KlingError as refusal:  # definitely not created anywhere: fail and refund
        task_states.advance(task_id, TaskStatus.FAILED, status_msg=refusal.message)
        raise
    task_states.touch(task_id, channel=channel.id)
    apply_upstream(task_id, data)


def apply_upstream(task_id: str, data: dict[str, Any]) -> None:
    """Take the state Kling reports for a task (from a create, a query or a callback)."""
    status = upstream_status(data.get("task_status"))
    changes: dict[str, Any] = {}
    if data.get("task_id"):
        changes["upstream_task_id"] = str(data["task_id"])
    if status is None or not task_states.advance(
            task_id, status, status_msg=str(data.get("task_status_msg") or ""),
            result=data.get("task_result") or None, **changes):
        task_states.touch(task_id, **changes)


def find(upstreams: Upstreams, caller: Caller, family: Family, task_or_external_id: str) -> Task:
    """The caller's task (another user's is reported as not existing), refreshed if stale."""
    task = task_store.find_own(caller.user_id, family.value, task_or_external_id)
    if task is None:
        raise ResourceNotFound(f"task not found: {task_or_external_id}")
    refresh_if_stale(upstreams, task)
    return Task.get_by_id(task.id)


def page(caller: Caller, family: Family, page_num: int, page_size: int) -> list[Task]:
    return task_store.page_own(caller.user_id, family.value, page_num, page_size)


def refresh_if_stale(upstreams: Upstreams, task: Task) -> None:
    """Ask the task's channel for its state if ours is older than ``stale_after_ms``."""
    now = task_states.now_ms()
    if (TaskStatus(task.status).is_final or task.channel_id is None
            or now - (task.synced_at or 0) < upstreams.stale_after_ms):
        return
    client = upstreams.client_for(Channel.get_by_id(task.channel_id))
    path = TASK_PATHS[Family(task.family)]
    try:  # before the upstream id is known, the gateway's id is Kling's external_task_id
        data = client.find_task(path, task.upstream_task_id or task.id)
    except UpstreamError as failure:
        log.info("task %s: refresh failed, answering the stored state: %s", task.id, failure)
        return
    if data is not None:
        apply_upstream(task.id, data)
    elif task.status == TaskStatus.SUBMITTING and now - task.created_at > NEVER_CREATED_AFTER_MS:
        task_states.advance(task.id, TaskStatus.FAILED,
                            status_msg="the upstream never created the task")
    else:
        task_states.touch(task.id)
