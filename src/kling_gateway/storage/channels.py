"""Upstream accounts (channels): named reads and writes, each channel handed up as a
``ChannelRecord``; and their way in and out of rotation: taking one out, the periodic check's
claims, putting it back.

A channel is out of rotation while ``broken_at`` is set. Each write is a compare-and-set: of
several processes that see the same refusal at once, one takes the channel out (and reports it),
and of several workers one checks a channel at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from peewee import Expression, Field, IntegrityError, fn

from kling_gateway.storage.db import database
from kling_gateway.storage.errors import RowMissing
from kling_gateway.storage.models import Channel
from kling_gateway.storage.prepared import PreparedQuery
from kling_gateway.storage.records import ChannelRecord

REASON_CHARS = 500
"""Kling's messages are short; a longer one is cut rather than stored whole."""
BACK_IN_ROTATION: dict[str, Any] = {"broken_code": None, "broken_reason": None,
                                    "broken_at": None, "last_checked_at": None}
"""The changes that put a channel back in rotation."""
MAX_LENGTHS: dict[str, int] = {"base_url": Channel.base_url.max_length,
                               "access_key": Channel.access_key.max_length,
                               "secret_key": Channel.secret_key.max_length}
"""The longest text each of these columns holds."""


def _record(channel: Channel) -> ChannelRecord:
    return ChannelRecord(
        id=channel.id, name=channel.name, base_url=channel.base_url,
        access_key=channel.access_key, secret_key=channel.secret_key,
        priority=channel.priority, weight=channel.weight, enabled=channel.enabled,
        allowed_models=None if channel.allowed_models is None else tuple(channel.allowed_models),
        max_concurrency=channel.max_concurrency, created_at=channel.created_at,
        broken_code=channel.broken_code, broken_reason=channel.broken_reason,
        broken_at=channel.broken_at, last_checked_at=channel.last_checked_at)


def insert(name: str, *, base_url: str, access_key: str, secret_key: str, priority: int,
           weight: int, enabled: bool, allowed_models: Sequence[str] | None,
           max_concurrency: int | None, now: int) -> ChannelRecord | None:
    """A new channel; None when the name is taken. In a savepoint, so a taken name leaves an
    outer transaction usable."""
    try:
        with database.atomic():
            return _record(Channel.create(
                name=name, base_url=base_url, access_key=access_key, secret_key=secret_key,
                priority=priority, weight=weight, enabled=enabled,
                max_concurrency=max_concurrency,
                allowed_models=list(allowed_models) if allowed_models else None,
                created_at=now))
    except IntegrityError:
        return None


def channel_by_name(name: str) -> ChannelRecord | None:
    channel = Channel.get_or_none(Channel.name == name)
    return None if channel is None else _record(channel)


def channel_by_id(channel_id: int) -> ChannelRecord:
    """The channel; RowMissing when there is none (tasks and sessions name theirs by id)."""
    channel = Channel.get_or_none(Channel.id == channel_id)
    if channel is None:
        raise RowMissing(f"no channel {channel_id}")
    return _record(channel)


def all_by_priority() -> list[ChannelRecord]:
    """Every channel, the highest priority first, then by name."""
    return [_record(channel)
            for channel in Channel.select().order_by(Channel.priority.desc(), Channel.name)]


def update(channel_id: int, changes: dict[str, Any]) -> ChannelRecord:
    """Apply ``changes`` (column values by name) and answer the channel as it now is."""
    if changes:
        Channel.update(**changes).where(Channel.id == channel_id).execute()
    return channel_by_id(channel_id)


_IN_ROTATION = PreparedQuery(Channel, lambda: (
    Channel.select().where((Channel.enabled == True)  # noqa: E712  (peewee's SQL = TRUE)
                           & Channel.broken_at.is_null())))


def in_rotation() -> list[ChannelRecord]:
    """Enabled channels whose keys and account Kling has not refused (one prepared statement:
    every submit asks)."""
    return [_record(channel) for channel in _IN_ROTATION.rows()]


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


def claim_checks(now: int, interval_ms: int) -> list[ChannelRecord]:
    """The enabled channels out of rotation not checked (nor taken out) within
    ``interval_ms``, each claimed for this caller by recording ``now`` as its last check."""
    due = Channel.select().where(
        (Channel.enabled == True)  # noqa: E712  (peewee's SQL = TRUE)
        & Channel.broken_at.is_null(False)
        & (fn.COALESCE(Channel.last_checked_at, Channel.broken_at) <= now - interval_ms))
    return [_record(channel) for channel in due if _claim(channel, now)]


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
