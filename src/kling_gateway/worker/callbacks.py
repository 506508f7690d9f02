"""Sending the client callbacks that ``services.callbacks.enqueue`` recorded.

Per task strictly in ``sequence`` order (a later status waits until the earlier one is
delivered or abandoned), as the bare task object signed with the task's API token's secret key
(``worker.webhooks``), retried with exponential backoff until 24 h after the change, then
abandoned. A delivery is claimed with a lease (a compare-and-set on ``next_attempt_at``) before
it is posted, so concurrent workers never send it twice at once.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from typing import Any

from kling_gateway import metrics
from kling_gateway.config import Settings
from kling_gateway.domain import clock
from kling_gateway.domain.errors import InvalidParameter
from kling_gateway.services.callbacks import target_of
from kling_gateway.storage import callbacks as callback_store
from kling_gateway.storage import tokens as token_store
from kling_gateway.storage.records import DeliveryRecord
from kling_gateway.worker import webhooks

DELIVERY_TIMEOUT = (5.0, 10.0)
"""Connect and read timeouts of one POST to a client, in seconds."""
LEASE_MS = 60_000
"""How long a claimed delivery belongs to the worker posting it (longer than one POST)."""
FIRST_RETRY_MS = 5_000
MAX_RETRY_MS = 3_600_000
GIVE_UP_AFTER_MS = 24 * 3_600_000
"""A delivery still failing this long after its status change is abandoned."""
NO_SECRET = "the task's API token no longer exists: the callback cannot be signed"


def deliver_due(settings: Settings, *, now_ms: int | None = None, limit: int = 100,
                session: Any = None) -> int:
    """Attempt the deliveries due at ``now_ms`` (default: now), at most ``limit`` of them, oldest
    first and each task's in order; answers how many POSTs were made. ``session`` is a
    ``requests.Session`` to post with (default: a new one, closed afterwards)."""
    now = clock.now_ms() if now_ms is None else now_ms
    with nullcontext(session) if session is not None else webhooks.new_session() as http:
        attempts = handled = 0
        while handled < limit:  # a delivered status lets the task's next one go in this call
            batch = callback_store.due(now, limit - handled)
            if not batch:
                break
            attempts += sum(_attempt(settings, http, delivery, now) for delivery in batch)
            handled += len(batch)
        return attempts


def message_id(delivery: DeliveryRecord) -> str:
    """The ``webhook-id``: the same on every retry, so a client can drop duplicates."""
    return f"{delivery.task_id}-{delivery.sequence}"


def _attempt(settings: Settings, http: Any, delivery: DeliveryRecord, now: int) -> int:
    """Claim, check and post one delivery; 1 if a POST was made, else 0."""
    lease = now + LEASE_MS
    if not callback_store.claim(delivery, lease):
        return 0  # another worker has it
    secret = token_store.secret_of_task(delivery.task_id)
    address, refusal = _vetted_address(delivery.url, settings)
    if secret is None or address is None:
        callback_store.abandon(delivery.id, lease, now, refusal or NO_SECRET)
        metrics.callback_attempted("abandoned")
        return 0
    status, error = _post(http, delivery, secret, now, address)
    outcome = _outcome(delivery, status, now)
    callback_store.record_attempt(delivery.id, lease, status, error, **outcome)
    metrics.callback_attempted(_outcome_name(outcome))
    return 1


def _vetted_address(url: str, settings: Settings) -> tuple[str | None, str | None]:
    """(the address to post to, None), checked now because DNS can change after the submit;
    (None, why) when the URL may not be called."""
    try:
        target = target_of(url, settings)
    except InvalidParameter as refused:
        return None, refused.message
    return str(target.addresses[0]), None  # every one of them passed: the preferred one


def _post(http: Any, delivery: DeliveryRecord, secret: str, now: int,
          address: str) -> tuple[int | None, str | None]:
    """(HTTP status, None) for an answer, (None, why) for no answer. The POST goes to the
    ``address`` just checked, not to whatever the name resolves to a moment later."""
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    try:
        return webhooks.post_signed(http, delivery.url, body, secret, message_id(delivery),
                                    now // 1000, DELIVERY_TIMEOUT, connect_to=address), None
    except webhooks.DeliveryFailed as failure:
        return None, str(failure)


def _outcome(delivery: DeliveryRecord, status: int | None, now: int) -> dict[str, int]:
    """Delivered on a 2xx; else retried after a doubling delay until 24 h after the change."""
    if status is not None and 200 <= status < 300:
        return {"delivered_at": now}
    give_up_at = delivery.created_at + GIVE_UP_AFTER_MS
    if now >= give_up_at:
        return {"abandoned_at": now}
    return {"next_attempt_at": min(now + _backoff(delivery.attempts + 1), give_up_at)}


def _outcome_name(outcome: dict[str, int]) -> str:
    """``delivered``, ``abandoned`` or ``retrying``: the metric label of an attempt."""
    return ("delivered" if "delivered_at" in outcome
            else "abandoned" if "abandoned_at" in outcome else "retrying")


def _backoff(failures: int) -> int:
    return min(FIRST_RETRY_MS * 2 ** min(failures - 1, 20), MAX_RETRY_MS)
