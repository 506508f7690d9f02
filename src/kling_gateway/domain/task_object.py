"""The official task object, as Kling answers it, the gateway relays it and callbacks carry it."""

from __future__ import annotations

from typing import Any

from kling_gateway.domain.money import format_cny

BILLING_FIELDS = ("final_unit_deduction", "final_balance_deduction")
"""Kling's own billing of a task; only a full task object carries them."""


def watermark_choice(request: dict[str, Any]) -> bool | None:
    """Whether a create body asked for a watermarked copy; None when it did not say."""
    watermark = request.get("watermark_info")
    return bool(watermark.get("enabled")) if isinstance(watermark, dict) else None


def reported_fields(task: dict[str, Any]) -> dict[str, Any]:
    """What of Kling's task object the gateway keeps, beyond status and result, to relay as Kling
    sent it: the units (a string, officially; a number is written as one), the money deducted,
    the watermark echo and ``task_info.parent_video``. A field of another shape is dropped, so
    that the relayed object stays in the official shape."""
    kept: dict[str, Any] = {}
    units = task.get("final_unit_deduction")
    if isinstance(units, str) or (isinstance(units, int | float) and not isinstance(units, bool)):
        kept["final_unit_deduction"] = str(units)
    for name in ("final_balance_deduction", "watermark_info"):
        if isinstance(task.get(name), dict):
            kept[name] = task[name]
    info = task.get("task_info")
    if isinstance(info, dict) and isinstance(info.get("parent_video"), dict):
        kept["parent_video"] = info["parent_video"]
    return kept


def gateway_charge(amount: int, *, refunded: bool) -> dict[str, Any]:
    """What the gateway charged for a task (``amount`` in 1/10000 CNY): its own field, which
    Kling's task object does not have and clients that do not know it ignore."""
    return {"amount": format_cny(amount), "currency": "CNY", "refunded": refunded}


def task_object(*, task_id: str, status: str, created_at: int, updated_at: int,
                external_task_id: str | None = None, status_msg: str = "",
                result: dict[str, Any] | None = None, watermark: bool | None = None,
                reported: dict[str, Any] | None = None, charge: dict[str, Any] | None = None,
                full: bool = True) -> dict[str, Any]:
    """``full=False`` is the short form a create answers with; ``watermark`` is the create
    body's ``watermark_choice``, which Kling's own ``watermark_info`` in ``reported`` (see
    ``reported_fields``) overrides; ``charge`` is the gateway's ``gateway_charge``."""
    reported = reported or {}
    task: dict[str, Any] = {"task_id": task_id, "task_status": status}
    if full:
        task["task_status_msg"] = status_msg
    task["task_info"] = {"external_task_id": external_task_id} if external_task_id else {}
    if "parent_video" in reported:
        task["task_info"]["parent_video"] = reported["parent_video"]
    if full and result:
        task["task_result"] = result
    if full and "watermark_info" in reported:
        task["watermark_info"] = reported["watermark_info"]
    elif full and watermark is not None:
        task["watermark_info"] = {"enabled": watermark}
    if full:
        task.update((name, reported[name]) for name in BILLING_FIELDS if name in reported)
    task["created_at"] = created_at
    task["updated_at"] = updated_at
    if charge is not None:
        task["gateway_charge"] = charge
    return task
