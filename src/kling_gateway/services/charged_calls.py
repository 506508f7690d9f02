"""Synchronous calls that are not tasks but are billed (TTS, image recognition): charged, sent
once to the first channel that takes them, and refunded when Kling refuses them."""

from __future__ import annotations

from typing import Any

from kling_gateway.domain import rules
from kling_gateway.domain.errors import KlingError, ServiceUnavailable
from kling_gateway.domain.owned import made_by, seconds_of
from kling_gateway.services import billing, owned_objects
from kling_gateway.services.auth import Caller
from kling_gateway.upstream import failover
from kling_gateway.upstream.channels import Upstreams


def call(upstreams: Upstreams, caller: Caller, operation: str, path: str,
         body: dict[str, Any]) -> Any:
    """The upstream's answer; what it made (an audio's id) becomes the caller's, on the
    channel that made it."""
    rules.check(operation, body)
    channels = upstreams.candidates(None)
    if not channels:  # before any charge
        raise ServiceUnavailable("no upstream channel is available; try again later")
    charge = billing.charge(caller, billing.bill_for(operation, body, caller))
    try:
        channel, answer = failover.send_once(upstreams, channels, path, body)
    except KlingError as refusal:
        if charge is not None:
            billing.refund(charge.id, f"{operation} refused upstream: {refusal.message}")
        raise
    if isinstance(answer, dict) and isinstance(answer.get("task_result"), dict):
        owned_objects.remember(caller, channel, made_by(answer["task_result"]),
                               seconds_of(answer["task_result"]))
    return answer
