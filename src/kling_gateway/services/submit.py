"""Creating a caller's task: validate, charge and record, then send it upstream (or fail and
refund)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from kling_gateway import logs
from kling_gateway.domain import official_types, pricing
from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.families import TaskFamily
from kling_gateway.domain.task_object import watermark_choice
from kling_gateway.domain.tasks import TaskStatus
from kling_gateway.services import billing, callbacks, limits, owned_objects, task_sync
from kling_gateway.services.auth import Caller
from kling_gateway.services.context import GatewayContext
from kling_gateway.services.task_sync import Sending, Sent
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.db import write_transaction
from kling_gateway.storage.records import TaskRow

FIRST_POLL_MS = 2_000
"""A new task is first polled this long after its submit; the worker backs off from here."""


@dataclass(frozen=True)
class SubmitOutcome:
    """A submit the client hears as a success: the task as it is now, and where it went.
    A refusal is no outcome: it raises the ``KlingError`` the client is told."""

    task: TaskRow
    sent: Sent
    """``ACCEPTED`` by Kling, ``QUEUED`` behind full channels, or ``UNRESOLVED`` (to be
    reconciled by the worker)."""


def new_task_id() -> str:
    """Kling-like numeric ids, ordered by time, unique across gateway instances."""
    return f"{now_ms()}{secrets.randbelow(10**6):06d}"


def submit(context: GatewayContext, caller: Caller, family: TaskFamily,
           body: dict[str, Any]) -> SubmitOutcome:
    """Validate, charge and record, then create the task upstream (or fail and refund)."""
    upstreams = context.upstreams
    # Before anything reads it: the rules, the price, the upstream.
    body = official_types.to_official(body, family.typed_fields)
    family.check(body)
    callbacks.check_client_url(body.get("callback_url"), context.settings)
    bill = billing.bill_for(family.name, body, caller)
    # Stored and sent as charged: Kling runs what was billed even if its defaults change.
    body = pricing.priced_body(body, bill.quote)
    holder = owned_objects.holding_channel(
        caller, family.objects_named(body),
        lambda resource, object_id: context.presets.is_preset(upstreams, resource, object_id))
    # A task naming the caller's objects runs on the account holding them, full or not.
    channels = [holder] if holder else upstreams.candidates(bill.quote.model_name)
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
            channel=task_sync.first_on_record(upstreams, channels, pinned=bool(holder)))
        billing.charge(caller, bill, task_id=task_id)
        callbacks.enqueue(task, now)  # the client hears "submitted" first
    sending = task_sync.send(upstreams, task, body, channels, context.settings.public_url,
                             behind_queue=True, pinned=bool(holder))
    return SubmitOutcome(_as_answered(task_id, sending), sending.sent)


def _as_answered(task_id: str, sending: Sending) -> TaskRow:
    """The task as the send moved it; read again only when the send moved nothing itself (it
    may have recorded the channel it tried, or a callback may have moved the task first)."""
    return sending.task if sending.task is not None else task_store.get(task_id)

