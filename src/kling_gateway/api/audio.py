"""Handlers of the ``audio`` tag beside its task families (served by ``api.tasks``): TTS."""

from __future__ import annotations

from typing import Any

from kling_gateway.api._gateway import Answer, caller_of, upstreams
from kling_gateway.services import speech
from kling_gateway.web.envelope import ok


def tts(body: dict, token_info: dict[str, Any]) -> Answer:
    return ok(speech.tts(upstreams(), caller_of(token_info), body))
