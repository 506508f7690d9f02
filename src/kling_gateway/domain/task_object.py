"""The official task object, as Kling answers it, the gateway relays it and callbacks carry it."""

from __future__ import annotations

from typing import Any


def task_object(*, task_id: str, status: str, created_at: int, updated_at: int,
                external_task_id: str | None = None, status_msg: str = "",
                result: dict[str, Any] | None = None, request: dict[str, Any] | None = None,
                units: str | None = None, full: bool = True) -> dict[str, Any]:
    """``full=False`` is the short form a create answers with."""
    task: dict[str, Any] = {"task_id": task_id, "task_status": status}
    if full:
        task["task_status_msg"] = status_msg
    task["task_info"] = {"external_task_id": external_task_id} if external_task_id else {}
    watermark = (request or {}).get("watermark_info")
    if full and result:
        task["task_result"] = result
    if full and isinstance(watermark, dict):
        task["watermark_info"] = {"enabled": bool(watermark.get("enabled"))}
    if full and units is not None:
        task["final_unit_deduction"] = units
    task["created_at"] = created_at
    task["updated_at"] = updated_at
    return task
