"""Identify face, relayed synchronously: the face session it opens is the caller's, on the
channel that opened it.

A video made through the gateway is only known to the account that made it, so a request
naming one goes to that channel (another user's is answered as Kling answers an unknown id);
a video given by URL goes to any channel, with failover. The call is charged, and refunded
when the upstream refuses it.
"""

from __future__ import annotations

from typing import Any

from kling_gateway.domain.owned import Reference, Resource
from kling_gateway.services import charged_calls, owned_objects
from kling_gateway.services.auth import Caller
from kling_gateway.upstream.channels import Upstreams
from kling_gateway.upstream.paths import IDENTIFY_FACE_PATH

OPERATION = "identify-face"
VIDEO = Reference(("video_id",), Resource.VIDEO)


def identify_face(upstreams: Upstreams, caller: Caller, body: dict[str, Any]) -> Any:
    channel, answer = charged_calls.call(upstreams, caller, OPERATION, IDENTIFY_FACE_PATH, body,
                                         references=(VIDEO,))
    session_id = answer.get("session_id") if isinstance(answer, dict) else None
    if session_id not in (None, ""):
        owned_objects.remember(caller, channel, [(Resource.FACE_SESSION, str(session_id))])
    return answer
