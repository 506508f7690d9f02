"""Handlers of the ``account`` tag."""

from __future__ import annotations

from typing import Any

from kling_gateway.simulator.app import current_simulator
from kling_gateway.web.envelope import ok

PACK_NAME = "Simulated video generation pack"
PACK_UNITS = 10000.0
PACK_DAYS = 30


def get_costs(user: str, start_time: int, end_time: int,
              resource_pack_name: str | None = None) -> dict[str, Any]:
    simulator = current_simulator()
    simulator.before_call()
    started = simulator.started_ms
    pack = {
        "resource_pack_name": PACK_NAME,
        "resource_pack_id": f"sim-{user}",
        "resource_pack_type": "decreasing_total",
        "total_quantity": PACK_UNITS,
        "remaining_quantity": PACK_UNITS - simulator.tasks.units_used(user),
        "purchase_time": started,
        "effective_time": started,
        "invalid_time": started + PACK_DAYS * 24 * 3600 * 1000,
        "status": "online",
    }
    packs = [pack] if resource_pack_name in (None, "", PACK_NAME) else []
    return ok({"code": 0, "msg": "success", "resource_pack_subscribe_infos": packs})
