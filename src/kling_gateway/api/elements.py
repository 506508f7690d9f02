"""Handlers of the ``elements`` tag beside the custom element task family (served by
``api.tasks``): the preset list, deletion and image recognition."""

from __future__ import annotations

from typing import Any

from kling_gateway.api._gateway import Answer, caller_of, context
from kling_gateway.services import elements
from kling_gateway.web.envelope import ok

Info = dict[str, Any]


def list_preset_elements(token_info: Info, page_num: int = 1, page_size: int = 30) -> Answer:
    return ok(elements.presets(context(), page_num, page_size))


def delete_element(body: dict, token_info: Info) -> Answer:
    return ok(elements.delete(context(), caller_of(token_info), body))


def recognize_image(body: dict, token_info: Info) -> Answer:
    return ok(elements.recognize(context(), caller_of(token_info), body))
