"""The callback outbox: deliveries appended with a task's status change, claimed with a lease
(a compare-and-set on ``next_attempt_at``) and finished only by the lease's holder. Each
delivery is handed up as a ``DeliveryRecord``."""

from __future__ import annotations

from typing import Any

from peewee import Expression, fn

from kling_gateway.storage.models import CallbackDelivery
from kling_gateway.storage.records import DeliveryRecord


def _record(delivery: CallbackDelivery) -> DeliveryRecord:
    return DeliveryRecord(
        id=delivery.id, task_id=delivery.task_id, sequence=delivery.sequence, url=delivery.url,
        payload=delivery.payload, attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at, last_status_code=delivery.last_status_code,
        last_error=delivery.last_error, delivered_at=delivery.delivered_at,
        abandoned_at=delivery.abandoned_at, created_at=delivery.created_at)


def append(task_id: str, url: str, payload: dict[str, Any], now: int) -> None:
    """The task's next delivery, due at ``now``. Call it in the transaction that changes the
    task, so the change and its delivery are written together or not at all."""
    last = (CallbackDelivery.select(fn.MAX(CallbackDelivery.sequence))
            .where(CallbackDelivery.task == task_id).scalar())
    CallbackDelivery.create(task=task_id, sequence=(last or 0) + 1, url=url, payload=payload,
                            next_attempt_at=now, created_at=now)


def deliveries_of(task_id: str) -> list[DeliveryRecord]:
    """Every delivery of the task, in order."""
    return [_record(delivery) for delivery in
            CallbackDelivery.select().where(CallbackDelivery.task == task_id)
            .order_by(CallbackDelivery.sequence)]


def _pending(row: Any) -> Expression:
    return row.delivered_at.is_null() & row.abandoned_at.is_null()


def due(now: int, limit: int) -> list[DeliveryRecord]:
    """Due pending deliveries that are the lowest pending ``sequence`` of their task, oldest
    first, at most ``limit``."""
    earlier = CallbackDelivery.alias()
    blocking = earlier.select(earlier.id).where(
        (earlier.task == CallbackDelivery.task) & (earlier.sequence < CallbackDelivery.sequence)
        & _pending(earlier))
    return [_record(delivery) for delivery in CallbackDelivery.select()
            .where(_pending(CallbackDelivery) & (CallbackDelivery.next_attempt_at <= now)
                   & ~fn.EXISTS(blocking))
            .order_by(CallbackDelivery.id).limit(limit)]


def claim(delivery: DeliveryRecord, lease: int) -> bool:
    """Move ``next_attempt_at`` to the lease's end, only if nobody did since ``delivery`` was
    read; whether this call did."""
    return bool(CallbackDelivery.update(next_attempt_at=lease)
                .where((CallbackDelivery.id == delivery.id)
                       & (CallbackDelivery.next_attempt_at == delivery.next_attempt_at)
                       & _pending(CallbackDelivery))
                .execute())


def abandon(delivery_id: int, lease: int, now: int, why: str) -> None:
    """Give the delivery up without an attempt (it may not or cannot be sent)."""
    _finish(delivery_id, lease, abandoned_at=now, last_error=why)


def record_attempt(delivery_id: int, lease: int, status_code: int | None, error: str | None,
                   **outcome: int) -> None:
    """Count an attempt with its answer (``status_code``) or failure (``error``) and its
    ``outcome``: ``delivered_at``, ``abandoned_at`` or the ``next_attempt_at`` of a retry."""
    _finish(delivery_id, lease, attempts=CallbackDelivery.attempts + 1,
            last_status_code=status_code, last_error=error, **outcome)


def _finish(delivery_id: int, lease: int, **changes: Any) -> None:
    """Record an attempt's outcome, unless the lease ran out and another worker took over."""
    (CallbackDelivery.update(**changes)
     .where((CallbackDelivery.id == delivery_id) & (CallbackDelivery.next_attempt_at == lease)
            & _pending(CallbackDelivery))
     .execute())


def count_pending() -> int:
    """Deliveries neither delivered nor abandoned: the depth of the callback queue."""
    return (CallbackDelivery.select(fn.COUNT(CallbackDelivery.id))
            .where(_pending(CallbackDelivery)).scalar()) or 0
