"""Handler of the gateway's inbound callback URL (openapi/callbacks.yaml)."""

from __future__ import annotations

from typing import Any

from kling_gateway.services import tasks
from kling_gateway.web.envelope import ok


def receive(task_id: str, secret: str, body: dict[str, Any]) -> dict[str, Any]:
    tasks.receive_callback(task_id, secret, body)
    return ok(None)
