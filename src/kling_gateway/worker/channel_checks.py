"""Channels out of rotation come back: each is checked at an interval with a cheap read Kling
authenticates (``upstream.rotation.CHECK_PATH``), and put back when Kling answers."""

from __future__ import annotations

import logging

from kling_gateway.storage import channels as channel_store
from kling_gateway.storage.db import releasing_connection
from kling_gateway.storage.records import ChannelRecord
from kling_gateway.upstream.channels import Upstreams
from kling_gateway.upstream.errors import UpstreamError, UpstreamRefused
from kling_gateway.upstream.rotation import BROKEN_CODES, CHECK_PAGE, CHECK_PATH
from kling_gateway.worker.context import SyncContext

log = logging.getLogger(__name__)


def check_due(sync: SyncContext, now: int) -> None:
    """Ask each channel out of rotation whose turn has come whether it works again."""
    due = due_for_check(now, sync.settings.channel_check_seconds)
    list(sync.pool.map(lambda channel: _check_and_release(sync.upstreams, channel), due))


def due_for_check(now: int, interval_seconds: float) -> list[ChannelRecord]:
    """The channels out of rotation whose turn to be checked has come, claimed by the caller."""
    return channel_store.claim_checks(now, int(interval_seconds * 1000))


@releasing_connection
def _check_and_release(upstreams: Upstreams, channel: ChannelRecord) -> None:
    try:
        check(upstreams, channel)
    except Exception:  # one channel's trouble must not stop the pass
        log.exception("check of channel %s failed", channel.name)


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
