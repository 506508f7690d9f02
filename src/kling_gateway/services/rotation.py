"""Refusals that are the channel's fault, not the client's, and the channel's way out of
rotation and back.

When Kling refuses a channel's keys or account, nothing sent with them can succeed, whatever the
request: the channel is taken out of rotation in the database, so that every instance stops
sending it new work (tasks it holds are still polled). The worker checks it at an interval with
a cheap authenticated read and puts it back when Kling answers; an operator can put it back at
once (``services/channels.py``). The client never hears these refusals: they are about the
gateway's own accounts.

An account in arrears may still answer reads. It then comes back at its check, and the next
create Kling refuses takes it out again and moves that request on to the next channel: one
refused attempt per check interval at most, which no client sees.
"""

from __future__ import annotations

import logging

from kling_gateway import metrics
from kling_gateway.domain import families
from kling_gateway.domain.clock import now_ms
from kling_gateway.services.upstreams import Upstreams
from kling_gateway.storage import channels as channel_store
from kling_gateway.storage.records import ChannelRecord
from kling_gateway.upstream.errors import UpstreamError, UpstreamRefused

log = logging.getLogger(__name__)
BROKEN_CODES = frozenset({1000, 1001, 1002, 1003, 1004, 1100, 1101, 1102, 1304})
"""Kling refuses the channel's keys (1000-1004), its account (1100-1102: an account
exception, arrears, a used-up resource pack) or the gateway's address on that account (1304:
not on its IP whitelist): out of rotation until it works again."""
NO_MODEL_CODE = 1103
"""This account may not use the request's model. Another account may, and this one still serves
the models it may use: the request moves on, the channel stays in rotation."""
CHECK_PATH = families.PROBE.path
CHECK_PAGE = {"pageNum": 1, "pageSize": 1}
"""The check: the first entry of the account's task list, the cheapest read Kling authenticates
(it creates nothing and costs nothing)."""


def is_channel_fault(error: UpstreamError | None) -> bool:
    """Whether ``error`` is Kling refusing the gateway's own account rather than the request."""
    return isinstance(error, UpstreamRefused) and (
        error.code in BROKEN_CODES or error.code == NO_MODEL_CODE)


def take_out_if_broken(channel: ChannelRecord, error: UpstreamError) -> bool:
    """Take the channel out of rotation if ``error`` refuses its keys or account; whether it
    did refuse them. Only the process that takes it out logs and counts it."""
    if not (isinstance(error, UpstreamRefused) and error.code in BROKEN_CODES):
        return False
    if channel.broken_at is None and channel_store.take_out(channel.id, error.code,
                                                            error.message, now_ms()):
        log.warning("channel %s taken out of rotation: Kling refused its keys or account "
                    "with %s: %s", channel.name, error.code, error.message)
        metrics.channel_taken_out(channel.name, error.code)
    return True


def due_for_check(now: int, interval_seconds: float) -> list[ChannelRecord]:
    """The channels out of rotation whose turn to be checked has come, claimed by the caller."""
    return channel_store.claim_checks(now, int(interval_seconds * 1000))


def check(upstreams: Upstreams, channel: ChannelRecord) -> bool:
    """Ask Kling with the channel's keys; back in rotation when it answers. Whether it did."""
    try:
        upstreams.client_for(channel).get(CHECK_PATH, CHECK_PAGE)
    except UpstreamError as failure:
        if isinstance(failure, UpstreamRefused) and failure.code in BROKEN_CODES:
            channel_store.still_out(channel.id, failure.code, failure.message)
        log.info("channel %s stays out of rotation: %s", channel.name, failure)
        return False
    if channel_store.put_back(channel.id, channel.broken_at):
        log.warning("channel %s is back in rotation: Kling accepts its keys and account again",
                    channel.name)
    return True
