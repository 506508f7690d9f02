"""Elements beside the custom element task family: Kling's presets, deleting one's own, and
image recognition (a billed synchronous call)."""

from __future__ import annotations

from typing import Any

from kling_gateway.domain.owned import Resource
from kling_gateway.services import charged_calls, owned_objects
from kling_gateway.services.auth import Caller
from kling_gateway.services.context import GatewayContext

DELETE_PATH = "/v1/general/delete-elements"
RECOGNIZE_PATH = "/v1/videos/image-recognize"


def presets(context: GatewayContext, page_num: int, page_size: int) -> list[dict[str, Any]]:
    return context.presets.page(context.upstreams, Resource.ELEMENT, page_num, page_size)


def delete(context: GatewayContext, caller: Caller, body: dict[str, Any]) -> Any:
    """Only the caller's own custom element (its id as a number or a string of digits)."""
    element_id = str(int(body["element_id"]))
    return owned_objects.delete_own(context.upstreams, caller, "element_id", Resource.ELEMENT,
                                    element_id, DELETE_PATH, body)


def recognize(context: GatewayContext, caller: Caller, body: dict[str, Any]) -> Any:
    return charged_calls.call(context.upstreams, caller, "image-recognize", RECOGNIZE_PATH,
                              body)[1]
