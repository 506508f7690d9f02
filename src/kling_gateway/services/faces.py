"""Identify face, relayed synchronously: the face session it opens is the caller's, on the
channel that opened it.

A video made through the gateway is only known to the account that made it, so a request
naming one goes to that channel (another user's is answered as Kling answers an unknown id);
a video given by URL goes to any channel, with failover. The call is charged, and refunded
when the upstream refuses it.
"""

from __future__ import annotations

from typing import Any

from kling_gateway.domain import rules
from kling_gateway.domain.errors import KlingError, ServiceUnavailable
from kling_gateway.domain.owned import Reference, Resource
from kling_gateway.services import billing, owned_objects
from kling_gateway.services.auth import Caller
from kling_gateway.storage.records import ChannelRecord
from kling_gateway.upstream import failover
from kling_gateway.upstream.channels import Upstreams
from kling_gateway.upstream.paths import IDENTIFY_FACE_PATH

OPERATION = "identify-face"
VIDEO = Reference(("video_id",), Resource.VIDEO)


def identify_face(upstreams: Upstreams, caller: Caller, body: dict[str, Any]) -> Any:
    rules.check(OPERATION, body)
    channels = _channels_for(upstreams, caller, body)
    charge = billing.charge(caller, billing.bill_for(OPERATION, body, caller))
    try:
        channel, answer = failover.send_once(upstreams, channels, IDENTIFY_FACE_PATH, body)
    except KlingError as refusal:
        if charge is not None:
            billing.refund(charge.id, f"{OPERATION} refused upstream: {refusal.message}")
        raise
    session_id = answer.get("session_id") if isinstance(answer, dict) else None
    if session_id not in (None, ""):
        owned_objects.remember(caller, channel, [(Resource.FACE_SESSION, str(session_id))])
    return answer


def _channels_for(upstreams: Upstreams, caller: Caller,
                  body: dict[str, Any]) -> list[ChannelRecord]:
    named = [(field, VIDEO.resource, video_id) for field, video_id in VIDEO.found_in(body)]
    holder = owned_objects.holding_channel(caller, named)
    if holder is not None:
        return [holder]
    candidates = upstreams.candidates(None)
    if not candidates:  # before any charge
        raise ServiceUnavailable("no upstream channel is available; try again later")
    return candidates
