"""The official task object, as Kling answers it, the gateway relays it and callbacks carry it."""

from __future__ import annotations

from typing import Any


def watermark_choice(request: dict[str, Any]) -> bool | None:
    """Whether a create body asked for a watermarked copy; None when it did not say."""
    watermark = request.get("watermark_info")
    return bool(watermark.get("enabled")) if isinstance(watermark, dict) else None


def task_object(*, task_id: str, status: str, created_at: int, updated_at: int,
                external_task_id: str | None = None, status_msg: str = "",
                result: dict[str, Any] | None = None, watermark: bool | None = None,
                units: str | None = None, full: bool = True) -> dict[str, Any]:
    """``full=False`` is the short form a create answers with; ``watermark`` is the create
    body's ``watermark_choice``."""
    task: dict[str, Any] = {"task_id": task_id, "task_status": status}
    if full:
        task["task_status_msg"] = status_msg
    task["task_info"] = {"external_task_id": external_task_id} if external_task_id else {}
    if full and result:
        task["task_result"] = result
    if full and watermark is not None:
        task["watermark_info"] = {"enabled": watermark}
    if full and units is not None:
        task["final_unit_deduction"] = units
    task["created_at"] = created_at
    task["updated_at"] = updated_at
    return task
