"""JSON-ready views of gateway records, shared by the admin API and the admin CLI's ``--json``.

Money is shown as decimal CNY strings; secrets are never part of a view.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kling_gateway.domain.money import format_cny
from kling_gateway.domain.task_object import gateway_charge, task_object
from kling_gateway.domain.tasks import TaskStatus
from kling_gateway.services.accounts import IssuedToken
from kling_gateway.storage.records import (
    ChannelRecord,
    DeliveryRecord,
    LedgerRecord,
    PriceRecord,
    TaskRow,
    TokenRecord,
    UserRecord,
)


def user_view(user: UserRecord) -> dict[str, Any]:
    return {"name": user.name, "balance": format_cny(user.balance),
            "disabled": user.disabled, "created_at": user.created_at}


def token_view(token: TokenRecord) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "api_key": f"{token.key_hint}…",
        "access_key": token.access_key,
        "spend_limit": None if token.spend_limit is None else format_cny(token.spend_limit),
        "spent": format_cny(token.spent),
        "expires_at": token.expires_at,
        "allowed_models": _listed(token.allowed_models),
        "revoked": token.revoked,
        "created_at": token.created_at,
    }


def issued_token_view(issued: IssuedToken) -> dict[str, Any]:
    """The only view that carries credentials: answered once, when the token is created."""
    return {**token_view(issued.token), "api_key": issued.api_key,
            "access_key": issued.access_key, "secret_key": issued.secret_key}


def ledger_entry_view(entry: LedgerRecord) -> dict[str, Any]:
    return {
        "id": entry.id,
        "kind": entry.kind,
        "amount": format_cny(entry.amount),
        "balance_after": format_cny(entry.balance_after),
        "task_id": entry.task_id,
        "token_id": entry.token_id,
        "refund_of": entry.refund_of_id,
        "price_key": entry.price_key,
        "note": entry.note,
        "created_at": entry.created_at,
    }


def price_view(price: PriceRecord) -> dict[str, Any]:
    return {"key": price.key, "price": format_cny(price.amount), "updated_at": price.updated_at}


def summary_view(totals: dict[str, int]) -> dict[str, Any]:
    return {"users": totals["users"],
            **{name: format_cny(value) for name, value in totals.items() if name != "users"}}


def task_view(task: TaskRow, *, full: bool = True) -> dict[str, Any]:
    """A gateway task as the official task object, with the gateway's ids, what Kling reported
    about it, and what the gateway charged for it."""
    status = TaskStatus(task.status)
    # A move to failed refunds the charge in the same transaction (task_states.advance), so
    # the status says it without reading the ledger.
    refunded = status is TaskStatus.FAILED and task.amount > 0
    return task_object(task_id=task.id, status=status.public,
                       created_at=task.created_at, updated_at=task.updated_at,
                       external_task_id=task.external_task_id, status_msg=task.status_msg,
                       result=task.result, watermark=task.watermark_enabled,
                       reported=task.reported_fields,
                       charge=gateway_charge(task.amount, refunded=refunded), full=full)


GATEWAY_PACK_NAME = "kling-gateway balance"
_FAR_FUTURE_MS = 4_102_444_800_000  # 2100-01-01: a gateway balance does not expire


def balance_as_resource_pack(user_id: int, summary: dict[str, int]) -> dict[str, Any]:
    """The caller's balance in the shape of Kling's resource pack, quantities in CNY."""
    return {
        "resource_pack_name": GATEWAY_PACK_NAME,
        "resource_pack_id": f"kling-gateway-user-{user_id}",
        "resource_pack_type": "decreasing_total",
        "total_quantity": float(Decimal(format_cny(max(summary["credited"], 0)))),
        "remaining_quantity": float(Decimal(format_cny(summary["balance"]))),
        "purchase_time": summary["since"],
        "effective_time": summary["since"],
        "invalid_time": _FAR_FUTURE_MS,
        "status": "online" if summary["balance"] > 0 else "runOut",
    }


def channel_view(channel: ChannelRecord) -> dict[str, Any]:
    """An upstream account as the admin sees it: every field but the secret key, and why it
    is out of rotation (null while it is in)."""
    return {
        "name": channel.name,
        "base_url": channel.base_url,
        "access_key": channel.access_key,
        "secret_key_set": bool(channel.secret_key),
        "priority": channel.priority,
        "weight": channel.weight,
        "enabled": channel.enabled,
        "allowed_models": _listed(channel.allowed_models),
        "max_concurrency": channel.max_concurrency,
        "created_at": channel.created_at,
        "out_of_rotation": None if channel.broken_at is None else {
            "code": channel.broken_code, "reason": channel.broken_reason,
            "since": channel.broken_at, "last_checked_at": channel.last_checked_at},
    }


def callback_delivery_view(delivery: DeliveryRecord) -> dict[str, Any]:
    """A callback delivery: which status went where, and how its delivery went.
    ``next_attempt_at`` is null once the delivery is delivered or abandoned."""
    done = delivery.delivered_at is not None or delivery.abandoned_at is not None
    return {
        "sequence": delivery.sequence,
        "url": delivery.url,
        "task_status": delivery.payload["task_status"],
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "delivered_at": delivery.delivered_at,
        "abandoned_at": delivery.abandoned_at,
        "next_attempt_at": None if done else delivery.next_attempt_at,
        "created_at": delivery.created_at,
    }


def _listed(models: tuple[str, ...] | None) -> list[str] | None:
    """A record's tuple of model names as the JSON list the views answer."""
    return None if models is None else list(models)
