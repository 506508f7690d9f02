"""Text to speech: one synchronous, billed call whose audio belongs to the caller."""

from __future__ import annotations

from typing import Any

from kling_gateway.services import charged_calls
from kling_gateway.services.auth import Caller
from kling_gateway.upstream.channels import Upstreams

TTS_PATH = "/v1/audio/tts"


def tts(upstreams: Upstreams, caller: Caller, body: dict[str, Any]) -> Any:
    """The finished speech; its ``audios[].id`` is the caller's, on the channel that made it
    (advanced lip-sync and avatar tasks naming it go there)."""
    return charged_calls.call(upstreams, caller, "tts", TTS_PATH, body)[1]
