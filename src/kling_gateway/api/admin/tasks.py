"""Handlers of the ``tasks`` tag: what the gateway did for a task behind the client's back."""

from __future__ import annotations

from typing import Any

from kling_gateway.services import callbacks
from kling_gateway.services.views import callback_delivery_view
from kling_gateway.web.envelope import ok

Answer = dict[str, Any]


def list_callbacks(task_id: str) -> Answer:
    return ok([callback_delivery_view(delivery)
               for delivery in callbacks.deliveries_of(task_id)])
