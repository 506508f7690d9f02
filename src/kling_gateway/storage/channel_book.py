"""The channels as ``upstream.channels.Upstreams`` reads and writes them: its ``ChannelBook``,
answered by this package's named queries."""

from __future__ import annotations

from kling_gateway.storage import channels, tasks
from kling_gateway.storage.records import ChannelRecord


class StoredChannelBook:
    """The channel book kept in the database, shared by every gateway instance."""

    def in_rotation(self) -> list[ChannelRecord]:
        return channels.in_rotation()

    def in_flight(self, channel_id: int, *, besides: str | None = None) -> int:
        return tasks.count_in_flight(channel_id, besides=besides)

    def take_out(self, channel_id: int, code: int, reason: str, now: int) -> bool:
        return channels.take_out(channel_id, code, reason, now)
