"""Creating, reading and listing a caller's tasks; reads refresh a stale task from upstream."""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any

from kling_gateway import logs
from kling_gateway.config import DEFAULT_LOST_AFTER_SECONDS
from kling_gateway.domain import families, official_types, pricing
from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.errors import InvalidParameter, KlingError, ResourceNotFound
from kling_gateway.domain.families import TaskFamily
from kling_gateway.domain.owned import Resource
from kling_gateway.domain.task_object import reported_fields, watermark_choice
from kling_gateway.domain.tasks import TaskStatus, upstream_status
from kling_gateway.services import (
    billing,
    callbacks,
    limits,
    relay,
    rotation,
    selections,
    task_states,
)
from kling_gateway.services.auth import Caller
from kling_gateway.services.context import GatewayContext
from kling_gateway.services.upstreams import Upstreams
from kling_gateway.storage import channels as channel_store
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.db import commit_without_waiting_for_disk, write_transaction
from kling_gateway.storage.records import ChannelRecord, TaskRow
from kling_gateway.upstream.errors import UpstreamError

log = logging.getLogger(__name__)
LOST_AFTER_MS = int(DEFAULT_LOST_AFTER_SECONDS * 1000)
"""A ``submitting`` task this old whose channel does not know it is failed and refunded (the
setting ``KLING_GATEWAY_LOST_AFTER_SECONDS`` reaches the worker through its ``SyncPolicy``)."""
FIRST_POLL_MS = 2_000
"""A new task is first polled this long after its submit; the worker backs off from here."""
LOCAL_FIELDS = ("external_task_id", "callback_url")
"""Kept by the gateway; the gateway's own id goes upstream as ``external_task_id``."""


def new_task_id() -> str:
    """Kling-like numeric ids, ordered by time, unique across gateway instances."""
    return f"{now_ms()}{secrets.randbelow(10**6):06d}"


def submit(context: GatewayContext, caller: Caller, family: TaskFamily,
           body: dict[str, Any]) -> TaskRow:
    """Validate, charge and record, then create the task upstream (or fail and refund)."""
    upstreams = context.upstreams
    # Before anything reads it: the rules, the price, the upstream.
    body = official_types.to_official(body, family.typed_fields)
    family.check(body)
    callbacks.check_client_url(body.get("callback_url"), context.settings)
    bill = billing.bill_for(family.name, body, caller)
    # Stored and sent as charged: Kling runs what was billed even if its defaults change.
    body = pricing.priced_body(body, bill.quote)
    channels = _channels_for(upstreams, caller, family, body, bill.quote.model_name)
    task_id = new_task_id()
    logs.note(task_id=task_id)
    callback_secret = secrets.token_urlsafe(24) if context.settings.public_url else None
    with write_transaction():
        limits.check_running_tasks(caller, context.settings.token_running_tasks)
        now = now_ms()
        task = task_store.insert(
            id=task_id, user=caller.user_id, token=caller.token_id, family=family.name,
            model_name=bill.quote.model_name, mode=bill.quote.mode,
            duration=bill.quote.duration, price_key=bill.key, amount=bill.total,
            external_task_id=body.get("external_task_id") or None,
            status=TaskStatus.SUBMITTING, request_body=body,
            watermark_enabled=watermark_choice(body),
            callback_url=body.get("callback_url") or None, created_at=now, updated_at=now,
            next_poll_at=now + FIRST_POLL_MS, callback_secret=callback_secret,
            channel=_first_on_record(upstreams, channels, family))
        billing.charge(caller, bill, task_id=task_id)
        callbacks.enqueue(task, now)  # the client hears "submitted" first
    return (_send(upstreams, task, body, channels, context.settings.public_url,
                  behind_queue=True) or task_store.get(task_id))


def _first_on_record(upstreams: Upstreams, channels: list[ChannelRecord],
                     family: TaskFamily) -> int | None:
    """The first channel to try, on record before it is asked (crash recovery) in the write
    that precedes the request; None when that channel has a limit, since then it is recorded
    only once a slot is taken (``_send``)."""
    if not channels:
        return None
    limited = upstreams.slots(channels[0]) is not None and not family.pinned_to_its_objects
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


def _channels_for(upstreams: Upstreams, caller: Caller, family: TaskFamily, body: dict[str, Any],
                  model: str | None) -> list[ChannelRecord]:
    """A task that names the caller's upstream objects runs on the account holding them."""
    holders = [_HOLDER_OF[resource](caller, object_id)
               for _, resource, object_id in family.objects_named(body)]
    return holders[:1] or upstreams.candidates(model)


def _session_holder(caller: Caller, session_id: str) -> ChannelRecord:
    return selections.channel_of(selections.owned_session(caller, session_id))


_HOLDER_OF = {Resource.SELECTION_SESSION: _session_holder}
"""The channel holding the caller's object of each kind (another user's is not found)."""


def _send(upstreams: Upstreams, task: TaskRow, body: dict[str, Any], channels: list[ChannelRecord],
          public_url: str | None, *, behind_queue: bool) -> TaskRow | None:
    """Send a ``submitting`` task; it ends up with Kling, queued, unresolved or failed.
    Answers the task as Kling's answer moved it, if it did. ``behind_queue``: a new task, which
    takes no slot that a queued task is waiting for."""
    family = families.named(task.family)
    if not channels and upstreams.serves(task.model_name) and not family.pinned_to_its_objects:
        _queue(task.id)
        return None

    def record_channel(attempt: ChannelRecord) -> bool:  # before each request: where to look it up
        slots = upstreams.slots(attempt)
        # An edit goes to the account holding its session, full or not, as it always did: the
        # queue would send it to any channel.
        if slots is not None and not family.pinned_to_its_objects:
            return task_store.take_slot(task.id, attempt, slots, behind_queue=behind_queue)
        if attempt.id != task.channel_id:
            task_states.touch(task.id, channel=attempt.id)
        return True

    try:
        channel, data = relay.send_task(
            upstreams, channels, family.path, upstream_body(task, body, public_url),
            task.id, before_attempt=record_channel)
    except relay.AllChannelsBusy:
        _queue(task.id)
        return None
    except relay.SubmitUnresolved as unresolved:
        log.warning("task %s: upstream outcome unknown, will reconcile: %s", task.id, unresolved)
        return None
    except KlingError as refusal:  # definitely not created anywhere: fail and refund
        task_states.advance(task.id, TaskStatus.FAILED, status_msg=refusal.message)
        raise
    # The charge was made durable before Kling was asked; Kling's answer need not wait for the
    # disk before the client hears it. Were it lost, the worker would read it back from Kling
    # by the gateway's id, which Kling holds as the task's external_task_id.
    with write_transaction():
        commit_without_waiting_for_disk()
        return apply_upstream(task.id, data, believed=TaskStatus.SUBMITTING,
                              channel=channel.id)


def _queue(task_id: str) -> None:
    """Every channel is full: the task waits in the gateway's queue, oldest first."""
    task_states.advance(task_id, TaskStatus.QUEUED, channel=None, next_poll_at=0)


def dispatch_queued(context: GatewayContext, task: TaskRow) -> None:
    """Try a queued task again (the worker calls this, oldest first); while no channel has
    room for it, it stays queued untouched."""
    upstreams = context.upstreams
    channels = upstreams.candidates(task.model_name)
    if not channels and upstreams.serves(task.model_name):
        return
    sending = task_states.advance(task.id, TaskStatus.SUBMITTING, believed=TaskStatus.QUEUED,
                                  channel=_first_on_record(upstreams, channels,
                                                           families.named(task.family)))
    if sending is None:
        return
    try:
        _send(upstreams, sending, task_store.request_body_of(task.id), channels,
              context.settings.public_url, behind_queue=False)
    except KlingError as refusal:
        log.info("queued task %s refused upstream: %s", task.id, refusal.message)


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
        rotation.take_out_if_broken(channel, failure)
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
