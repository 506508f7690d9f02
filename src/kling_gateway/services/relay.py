"""Sending one request upstream with failover, never creating two upstream jobs.

Channels are tried best first. A definite refusal that another account would repeat (a bad
parameter, content safety) ends the attempt; an account problem, a rate or concurrency limit or
an unreachable channel moves on to the next channel. When the answer is ambiguous (timeout, lost
connection, 5xx) the same channel is asked for the task by the gateway's id before anything else;
only if it definitely does not have it is the next channel tried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kling_gateway.domain.errors import KlingError, ServiceUnavailable, error_for_code
from kling_gateway.services.upstreams import Upstreams
from kling_gateway.storage.models import Channel
from kling_gateway.upstream.errors import (
    UpstreamAmbiguous,
    UpstreamError,
    UpstreamRefused,
    UpstreamUnreachable,
)

log = logging.getLogger(__name__)
ACCOUNT_CODES = {1100, 1101, 1102, 1302, 1303}
"""The channel's own trouble: try another account (a full one is noted as full, the others
cool down)."""
OTHER_ACCOUNT_CODES = ACCOUNT_CODES | {1103}
"""Worth another account (1103: this account may lack the model)."""


BUSY_CODE = 1303


class AllChannelsBusy(Exception):
    """Every channel that could take the task is at its concurrency limit: queue it."""


class SubmitUnresolved(Exception):
    """The channel may have created the task and could not be asked: the task stays
    ``submitting`` on that channel until it can be reconciled."""

    def __init__(self, channel: Channel, cause: UpstreamError) -> None:
        super().__init__(cause.message)
        self.channel = channel


def as_kling_error(error: UpstreamError | None) -> KlingError:
    """What the client is told when no channel took the request."""
    if isinstance(error, UpstreamRefused | UpstreamAmbiguous) and error.code:
        return error_for_code(error.code, error.message)
    return ServiceUnavailable("no upstream channel is available; try again later")


def send_task(upstreams: Upstreams, channels: list[Channel], path: str, body: dict[str, Any],
              gateway_task_id: str, *,
              before_attempt: Callable[[Channel], bool] = lambda channel: True,
              ) -> tuple[Channel, dict[str, Any]]:
    """Create the task on the first channel that takes it. ``before_attempt`` records the
    channel before each request, so a crash mid-request leaves the place to look it up, and
    answers False when the channel turned out to have no free slot. Raises AllChannelsBusy
    when every channel was full (it said 1303, or had no slot), else a KlingError if none
    took it."""
    last: UpstreamError | None = None
    busy = 0
    for channel in channels:
        client = upstreams.client_for(channel)
        if not before_attempt(channel):
            busy += 1
            continue
        try:
            return channel, client.post(path, body)
        except UpstreamRefused as refusal:
            if refusal.code not in OTHER_ACCOUNT_CODES:
                raise error_for_code(refusal.code, refusal.message) from refusal
            _set_aside(upstreams, channel, refusal, gateway_task_id)
            busy += refusal.code == BUSY_CODE
            last = refusal
        except UpstreamUnreachable as failure:
            _set_aside(upstreams, channel, failure, gateway_task_id)
            last = failure
        except UpstreamAmbiguous as doubt:
            try:
                found = client.find_task(path, gateway_task_id)
            except UpstreamError as lookup_failure:
                raise SubmitUnresolved(channel, lookup_failure) from doubt
            if found is not None:
                return channel, found
            _set_aside(upstreams, channel, doubt, gateway_task_id)
            last = doubt
    if channels and busy == len(channels):
        raise AllChannelsBusy()
    raise as_kling_error(last)


def send_once(upstreams: Upstreams, channel: Channel, path: str, body: dict[str, Any]) -> Any:
    """A synchronous call on one given channel (selection sessions live on one account)."""
    try:
        return upstreams.client_for(channel).post(path, body)
    except UpstreamRefused as refusal:
        raise error_for_code(refusal.code, refusal.message) from refusal
    except UpstreamError as failure:
        upstreams.cool_down(channel.id)
        raise as_kling_error(failure) from failure


def _set_aside(upstreams: Upstreams, channel: Channel, error: UpstreamError,
               sending: str) -> None:
    if isinstance(error, UpstreamRefused) and error.code == BUSY_CODE:
        # Not a failure: the channel is full until one of its tasks ends, and is then used at
        # once (a cool-down would leave freed slots unused).
        log.info("channel %s is full (1303), trying the next one", channel.name)
        upstreams.note_full(channel.id, sending=sending)
        return
    log.warning("channel %s failed, trying the next one: %r", channel.name, error)
    if not (isinstance(error, UpstreamRefused) and error.code == 1103):
        upstreams.cool_down(channel.id)
