"""Synchronous calls that are not tasks but are billed (identify face, TTS, image recognition):
charged, sent once to the first channel that takes them (the one holding the objects they
name, if any), and refunded when Kling refuses them."""

from __future__ import annotations

from typing import Any

from kling_gateway.domain import rules
from kling_gateway.domain.errors import KlingError, ServiceUnavailable
from kling_gateway.domain.owned import Reference, made_by, seconds_of
from kling_gateway.services import billing, owned_objects
from kling_gateway.services.auth import Caller
from kling_gateway.storage.records import ChannelRecord
from kling_gateway.upstream import failover
from kling_gateway.upstream.channels import Upstreams


def call(upstreams: Upstreams, caller: Caller, operation: str, path: str,
         body: dict[str, Any], *, references: tuple[Reference, ...] = ()
         ) -> tuple[ChannelRecord, Any]:
    """The channel that answered, and its answer; what the answer's ``task_result`` made (an
    audio's id) becomes the caller's, on that channel. ``references``: the body fields naming
    the caller's objects, whose channel the call must go to."""
    rules.check(operation, body)
    channels = _channels_for(upstreams, caller, body, references)
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
    return channel, answer


def _channels_for(upstreams: Upstreams, caller: Caller, body: dict[str, Any],
                  references: tuple[Reference, ...]) -> list[ChannelRecord]:
    named = [(field, reference.resource, object_id) for reference in references
             for field, object_id in reference.found_in(body)]
    holder = owned_objects.holding_channel(caller, named)
    if holder is not None:
        return [holder]
    candidates = upstreams.candidates(None)
    if not candidates:  # before any charge
        raise ServiceUnavailable("no upstream channel is available; try again later")
    return candidates
