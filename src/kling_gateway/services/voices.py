"""Voices beside the custom voice task family: Kling's presets, and deleting one's own."""

from __future__ import annotations

from typing import Any

from kling_gateway.domain.owned import Resource
from kling_gateway.services import owned_objects
from kling_gateway.services.auth import Caller
from kling_gateway.services.context import GatewayContext

DELETE_PATH = "/v1/general/delete-voices"


def presets(context: GatewayContext, page_num: int, page_size: int) -> list[dict[str, Any]]:
    return context.presets.page(context.upstreams, Resource.VOICE, page_num, page_size)


def delete(context: GatewayContext, caller: Caller, body: dict[str, Any]) -> Any:
    """Only the caller's own custom voice; ``{task_id, task_status}`` as Kling answers."""
    return owned_objects.delete_own(context.upstreams, caller, "voice_id", Resource.VOICE,
                                    str(body["voice_id"]), DELETE_PATH, body)
