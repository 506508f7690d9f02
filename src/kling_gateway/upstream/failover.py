"""Sending one request upstream with failover, never creating two upstream jobs.

Channels are tried best first. A definite refusal that another account would repeat (a bad
parameter, content safety) ends the attempt. A refusal of the channel's own keys or account
takes the channel out of rotation (``rotation``); it, a model this account may not use, a rate
or concurrency limit or an unreachable channel moves on to the next channel. When the answer is
ambiguous (timeout, lost connection, 5xx) the same channel is asked for the task by the
gateway's id before anything else; only if it definitely does not have it is the next channel
tried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from kling_gateway.domain.errors import KlingError, ServiceUnavailable, error_for_code
from kling_gateway.upstream import rotation
from kling_gateway.upstream.channels import Channel, Upstreams
from kling_gateway.upstream.errors import (
    UpstreamAmbiguous,
    UpstreamError,
    UpstreamRefused,
    UpstreamUnreachable,
)

log = logging.getLogger(__name__)
BUSY_CODE = 1303
COOL_DOWN_CODES = {1302, BUSY_CODE}
"""The channel is at its rate (1302: cooled down) or concurrency limit (1303: full until one
of its tasks ends) for now: try another."""


def _moves_on(refusal: UpstreamRefused) -> bool:
    """Whether another channel may take what this one refused."""
    return refusal.code in COOL_DOWN_CODES or rotation.is_channel_fault(refusal)


class AllChannelsBusy(Exception):
    """Every channel that could take the task is at its concurrency limit: queue it."""


class SubmitUnresolved(Exception):
    """The channel may have created the task and could not be asked: the task stays
    ``submitting`` on that channel until it can be reconciled."""

    def __init__(self, channel: Channel, cause: UpstreamError) -> None:
        super().__init__(cause.message)
        self.channel = channel


def as_kling_error(error: UpstreamError | None) -> KlingError:
    """What the client is told when no channel took the request. A refusal of the gateway's
    own account is no business of the client's, whose keys and balance are fine: 5001."""
    if (isinstance(error, UpstreamRefused | UpstreamAmbiguous) and error.code
            and not rotation.is_channel_fault(error)):
        return error_for_code(error.code, error.message)
    return ServiceUnavailable("no upstream channel is available; try again later")


def send_task(upstreams: Upstreams, channels: Sequence[Channel], path: str, body: dict[str, Any],
              gateway_task_id: str, *,
              before_attempt: Callable[[Channel], bool] = lambda channel: True,
              ) -> tuple[Channel, dict[str, Any]]:
    """Create the task on the first channel that takes it. ``before_attempt`` records the
    channel before each request, so a crash mid-request leaves the place to look it up, and
    answers False when the channel turned out to have no free slot. Raises AllChannelsBusy
    when every channel that could take the task was full (it said 1303, or had no slot; the
    others' keys, account or model refused), else a KlingError if none took it."""
    last: UpstreamError | None = None
    busy = unfit = 0
    for channel in channels:
        client = upstreams.client_for(channel)
        if not before_attempt(channel):
            busy += 1
            continue
        try:
            return channel, client.post(path, body)
        except UpstreamRefused as refusal:
            if not _moves_on(refusal):
                raise error_for_code(refusal.code, refusal.message) from refusal
            _set_aside(upstreams, channel, refusal, gateway_task_id)
            busy += refusal.code == BUSY_CODE
            unfit += rotation.is_channel_fault(refusal)
            last = refusal
        except UpstreamUnreachable as failure:
            _set_aside(upstreams, channel, failure, gateway_task_id)
            last = failure
        except UpstreamAmbiguous as doubt:
            try:
                found = client.find_task(path, gateway_task_id)
            except UpstreamError as lookup_failure:
                upstreams.take_out_if_broken(channel, lookup_failure)
                raise SubmitUnresolved(channel, lookup_failure) from doubt
            if found is not None:
                return channel, found
            _set_aside(upstreams, channel, doubt, gateway_task_id)
            last = doubt
    if busy and busy + unfit == len(channels):
        raise AllChannelsBusy()
    raise as_kling_error(last)


def send_once(upstreams: Upstreams, channels: Sequence[Channel], path: str,
              body: dict[str, Any]) -> tuple[Channel, Any]:
    """A synchronous call (selection sessions live on one account): on the first of
    ``channels`` that takes it, moving on only when Kling definitely did nothing."""
    last: UpstreamError | None = None
    for channel in channels:
        try:
            return channel, upstreams.client_for(channel).post(path, body)
        except UpstreamRefused as refusal:
            if not _moves_on(refusal):
                raise error_for_code(refusal.code, refusal.message) from refusal
            _set_aside(upstreams, channel, refusal)
            last = refusal
        except UpstreamUnreachable as failure:
            _set_aside(upstreams, channel, failure)
            last = failure
        except UpstreamError as doubt:  # it may have been done: not again elsewhere
            upstreams.cool_down(channel.id)
            raise as_kling_error(doubt) from doubt
    raise as_kling_error(last)


def _set_aside(upstreams: Upstreams, channel: Channel, error: UpstreamError,
               sending: str | None = None) -> None:
    """Keep the next requests off a channel that failed: out of rotation when its keys or
    account are refused, full until one of its tasks ends when it said 1303, cooling down when
    rate-limited or unreachable; a model it may not use only moves this request on."""
    if upstreams.take_out_if_broken(channel, error):
        return
    if isinstance(error, UpstreamRefused) and error.code == BUSY_CODE:
        # Not a failure: the channel is full until one of its tasks ends, and is then used at
        # once (a cool-down would leave freed slots unused).
        log.info("channel %s is full (1303), trying the next one", channel.name)
        upstreams.note_full(channel.id, sending=sending)
        return
    log.warning("channel %s failed, trying the next one: %r", channel.name, error)
    if not (isinstance(error, UpstreamRefused) and error.code == rotation.NO_MODEL_CODE):
        upstreams.cool_down(channel.id)
