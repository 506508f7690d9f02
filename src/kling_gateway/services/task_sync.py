"""Keeping a task in step with Kling: sending a ``submitting`` task through the channels,
reading its state back, and taking the state Kling reports.

The one place both paths share: a submit (``services.submit``) and a read
(``services.tasks``) on the request path, the queue, the poller and reconciliation
(``kling_gateway.worker``) in the background. Every state change still goes through
``task_states.advance``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from kling_gateway.config import DEFAULT_LOST_AFTER_SECONDS
from kling_gateway.domain import families
from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.errors import KlingError
from kling_gateway.domain.task_object import reported_fields
from kling_gateway.domain.tasks import TaskStatus, upstream_status
from kling_gateway.services import task_states
from kling_gateway.storage import channels as channel_store
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.db import commit_without_waiting_for_disk, write_transaction
from kling_gateway.storage.records import ChannelRecord, TaskRow
from kling_gateway.upstream import failover
from kling_gateway.upstream.channels import Upstreams
from kling_gateway.upstream.errors import UpstreamError

log = logging.getLogger(__name__)
LOST_AFTER_MS = int(DEFAULT_LOST_AFTER_SECONDS * 1000)
"""A ``submitting`` task this old whose channel does not know it is failed and refunded (the
setting ``KLING_GATEWAY_LOST_AFTER_SECONDS`` reaches the worker through its ``SyncPolicy``)."""
LOCAL_FIELDS = ("external_task_id", "callback_url")
"""Kept by the gateway; the gateway's own id goes upstream as ``external_task_id``."""


class Sent(Enum):
    """Where sending a ``submitting`` task left it (a refusal raises instead)."""

    ACCEPTED = "accepted"
    """Kling has the task."""
    QUEUED = "queued"
    """Every channel that could take it is full: it waits in the gateway's queue."""
    UNRESOLVED = "unresolved"
    """Kling may have it and could not be asked: it stays ``submitting`` until reconciled."""


@dataclass(frozen=True)
class Sending:
    """What one send did."""

    sent: Sent
    task: TaskRow | None
    """The task as this send moved it; None when the send moved nothing (the task is as
    stored, or as another reader moved it meanwhile)."""


def send(upstreams: Upstreams, task: TaskRow, body: dict[str, Any],
         channels: list[ChannelRecord], public_url: str | None, *,
         behind_queue: bool, pinned: bool = False) -> Sending:
    """Send a ``submitting`` task; it ends up with Kling, queued, unresolved or failed (then
    the refusal is raised). ``behind_queue``: a new task, which takes no slot that a queued
    task is waiting for. ``pinned``: it names objects only ``channels`` (one) holds, so it
    goes there full or not: the queue would send it to any channel."""
    if not channels and upstreams.serves(task.model_name) and not pinned:
        return Sending(Sent.QUEUED, queue(task.id))
    try:
        channel, data = failover.send_task(
            upstreams, channels, families.named(task.family).path,
            upstream_body(task, body, public_url), task.id,
            before_attempt=_channel_recorder(upstreams, task, behind_queue, pinned))
    except failover.AllChannelsBusy:
        return Sending(Sent.QUEUED, queue(task.id))
    except failover.SubmitUnresolved as unresolved:
        log.warning("task %s: upstream outcome unknown, will reconcile: %s", task.id, unresolved)
        return Sending(Sent.UNRESOLVED, None)
    except KlingError as refusal:  # definitely not created anywhere: fail and refund
        task_states.advance(task.id, TaskStatus.FAILED, status_msg=refusal.message)
        raise
    # The charge was made durable before Kling was asked; Kling's answer need not wait for the
    # disk before the client hears it. Were it lost, the worker would read it back from Kling
    # by the gateway's id, which Kling holds as the task's external_task_id.
    with write_transaction():
        commit_without_waiting_for_disk()
        moved = apply_upstream(task.id, data, believed=TaskStatus.SUBMITTING,
                               channel=channel.id)
    return Sending(Sent.ACCEPTED, moved)


def _channel_recorder(upstreams: Upstreams, task: TaskRow, behind_queue: bool,
                      pinned: bool) -> Callable[[ChannelRecord], bool]:
    """What runs before each request: the channel on record, where to look the task up;
    False when the channel turned out to have no free slot (never for a pinned task)."""

    def record_channel(attempt: ChannelRecord) -> bool:  # before each request: where to look it up
        slots = upstreams.slots(attempt)
        if slots is not None and not pinned:
            return task_store.take_slot(task.id, attempt, slots, behind_queue=behind_queue)
        if attempt.id != task.channel_id:
            task_states.touch(task.id, channel=attempt.id)
        return True

    return record_channel


def queue(task_id: str) -> TaskRow | None:
    """Every channel is full: the task waits in the gateway's queue, oldest first. Answers it
    as queued, if this moved it."""
    return task_states.advance(task_id, TaskStatus.QUEUED, channel=None, next_poll_at=0)


def first_on_record(upstreams: Upstreams, channels: list[ChannelRecord], *,
                    pinned: bool = False) -> int | None:
    """The first channel to try, on record before it is asked (crash recovery) in the write
    that precedes the request; None when that channel has a limit, since then it is recorded
    only once a slot is taken (``send``)."""
    if not channels:
        return None
    limited = upstreams.slots(channels[0]) is not None and not pinned
    return None if limited else channels[0].id


def upstream_body(task: TaskRow, body: dict[str, Any],
                  public_url: str | None = None) -> dict[str, Any]:
    """The stored ``body`` (the client's, unknown fields included, with the defaults it was
    charged for spelled out), with the gateway's id as ``external_task_id``; the client's
    ``callback_url`` stays here, and when the gateway has a public URL Kling gets the
    gateway's own callback URL for this task instead."""
    forwarded = {key: value for key, value in body.items() if key not in LOCAL_FIELDS}
    forwarded["external_task_id"] = task.id
    if public_url and task.callback_secret:
        forwarded["callback_url"] = (f"{public_url}/kling-gateway/callbacks/{task.id}/"
                                     f"{task.callback_secret}")
    return forwarded


def apply_upstream(task_id: str, data: dict[str, Any], *, believed: TaskStatus | None = None,
                   **changes: Any) -> TaskRow | None:
    """Take the state Kling reports for a task (from a create, a query or a callback), with
    the gateway's own ``changes`` (e.g. the channel that took it). Answers the task if its
    state moved, else None. ``believed``: as for ``task_states.advance``."""
    status = upstream_status(data.get("task_status"))
    if data.get("task_id"):
        changes["upstream_task_id"] = str(data["task_id"])
    # What Kling reports beside the state (its billing, say) is taken with a move, so the last
    # move's report stands: a late or repeated report, which moves nothing, changes nothing.
    reported = reported_fields(data)
    moved = status and task_states.advance(
        task_id, status, believed=believed, status_msg=str(data.get("task_status_msg") or ""),
        result=data.get("task_result") or None,
        **({"reported_fields": reported} if reported else {}), **changes)
    if not moved:
        task_states.touch(task_id, **changes)
        return None
    return moved


def refresh_if_stale(upstreams: Upstreams, task: TaskRow, *, force: bool = False,
                     lost_after_ms: int = LOST_AFTER_MS) -> bool:
    """Ask the task's channel for its state if ours is older than ``stale_after_ms``; whether
    it asked (only then can the stored task have changed here)."""
    now = now_ms()
    stale = force or now - (task.synced_at or 0) >= upstreams.stale_after_ms
    status = TaskStatus(task.status)
    if status.is_final or status is TaskStatus.QUEUED or task.channel_id is None or not stale:
        return False
    channel = channel_store.channel_by_id(task.channel_id)
    path = families.named(task.family).path
    try:  # before the upstream id is known, the gateway's id is Kling's external_task_id
        data = upstreams.client_for(channel).find_task(path, task.upstream_task_id or task.id)
    except UpstreamError as failure:
        # Not the task's failure, nor the client's business: the stored state stands.
        upstreams.take_out_if_broken(channel, failure)
        log.info("task %s: refresh failed, answering the stored state: %s", task.id, failure)
        return False
    if data is not None:
        apply_upstream(task.id, data)
    elif task.status == TaskStatus.SUBMITTING and now - task.updated_at > lost_after_ms:
        task_states.advance(task.id, TaskStatus.FAILED,
                            status_msg="the upstream never created the task")
    else:
        task_states.touch(task.id)
    return True
