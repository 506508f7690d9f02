"""Channels in and out of rotation: taking one out, the periodic check's claims, putting it back.

A channel is out of rotation while ``broken_at`` is set. Each write is a compare-and-set: of
several processes that see the same refusal at once, one takes the channel out (and reports it),
and of several workers one checks a channel at a time.
"""

from __future__ import annotations

from typing import Any

from peewee import Expression, Field, fn

from kling_gateway.storage.models import Channel

REASON_CHARS = 500
"""Kling's messages are short; a longer one is cut rather than stored whole."""
BACK_IN_ROTATION: dict[str, Any] = {"broken_code": None, "broken_reason": None,
                                    "broken_at": None, "last_checked_at": None}
"""The changes that put a channel back in rotation."""


def take_out(channel_id: int, code: int, reason: str, now: int) -> bool:
    """Out of rotation for ``code``; whether this call did it (False: it already was)."""
    return bool(Channel.update(broken_code=code, broken_reason=reason[:REASON_CHARS],
                               broken_at=now, last_checked_at=None)
                .where((Channel.id == channel_id) & Channel.broken_at.is_null())
                .execute())


def still_out(channel_id: int, code: int, reason: str) -> None:
    """A check was refused again: the reason shown becomes the latest one."""
    (Channel.update(broken_code=code, broken_reason=reason[:REASON_CHARS])
     .where((Channel.id == channel_id) & Channel.broken_at.is_null(False)).execute())


def put_back(channel_id: int, broken_at: int) -> bool:
    """Back in rotation, unless the channel was put back and taken out again since it was
    taken out at ``broken_at`` (that newer refusal stands); whether this call did it."""
    return bool(Channel.update(**BACK_IN_ROTATION)
                .where((Channel.id == channel_id) & (Channel.broken_at == broken_at))
                .execute())


def claim_checks(now: int, interval_ms: int) -> list[Channel]:
    """The enabled channels out of rotation not checked (nor taken out) within
    ``interval_ms``, each claimed for this caller by recording ``now`` as its last check."""
    due = Channel.select().where(
        (Channel.enabled == True)  # noqa: E712  (peewee's SQL = TRUE)
        & Channel.broken_at.is_null(False)
        & (fn.COALESCE(Channel.last_checked_at, Channel.broken_at) <= now - interval_ms))
    return [channel for channel in due if _claim(channel, now)]


def _claim(channel: Channel, now: int) -> bool:
    return bool(Channel.update(last_checked_at=now)
                .where((Channel.id == channel.id)
                       & _is(Channel.last_checked_at, channel.last_checked_at))
                .execute())


def _is(field: Field, value: int | None) -> Expression:
    return field.is_null() if value is None else field == value


def rotation() -> list[tuple[str, bool]]:
    """Every channel's name and whether it is out of rotation."""
    return [(name, broken_at is not None)
            for name, broken_at in Channel.select(Channel.name, Channel.broken_at)
            .order_by(Channel.name).tuples()]
