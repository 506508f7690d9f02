"""Handlers of the ``voices`` tag beside the custom voice task family (served by
``api.tasks``): the preset list and deletion."""

from __future__ import annotations

from typing import Any

from kling_gateway.api._gateway import Answer, caller_of, context
from kling_gateway.services import voices
from kling_gateway.web.envelope import ok

Info = dict[str, Any]


def list_preset_voices(token_info: Info, page_num: int = 1, page_size: int = 30) -> Answer:
    return ok(voices.presets(context(), page_num, page_size))


def delete_voice(body: dict, token_info: Info) -> Answer:
    return ok(voices.delete(context(), caller_of(token_info), body))
