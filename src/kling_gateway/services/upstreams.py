"""The gateway's upstream Kling accounts at run time: a client per channel, the order to try
them in, and which ones are cooling down after a failure."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from kling_gateway.config import Settings
from kling_gateway.storage import channels as channel_store
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.records import ChannelRecord
from kling_gateway.upstream.client import DEFAULT_TIMEOUTS, KlingClient, Timeouts


class Upstreams:
    def __init__(self, *, timeouts: Timeouts = DEFAULT_TIMEOUTS, cooldown_seconds: float = 30.0,
                 stale_after_ms: int = 3_000, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stale_after_ms = stale_after_ms
        """An unfinished task read later than this after its last upstream read is refreshed
        from the upstream before answering."""
        self._timeouts = timeouts
        self._cooldown_seconds = cooldown_seconds
        self._rng = rng or random.Random()
        self._clock = clock
        self._lock = threading.Lock()
        self._clients: dict[int, tuple[tuple[str, str, str], KlingClient]] = {}
        self._cooling_until: dict[int, float] = {}
        self._full_at: dict[int, tuple[int, float]] = {}
        """Channel → (the slots its account turned out to have, until when that is believed),
        learned from a 1303."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Upstreams:
        return cls(timeouts=Timeouts(read=settings.upstream_read_timeout_seconds))

    def client_for(self, channel: ChannelRecord) -> KlingClient:
        """The channel's pooled client, rebuilt when its URL, keys or name change."""
        identity = (channel.base_url, channel.access_key, channel.secret_key)
        with self._lock:
            cached = self._clients.get(channel.id)
            if cached is None or cached[0] != identity or cached[1].name != channel.name:
                if cached is not None:
                    cached[1].close()
                cached = (identity, KlingClient(*identity, timeouts=self._timeouts,
                                                name=channel.name))
                self._clients[channel.id] = cached
            return cached[1]

    def cool_down(self, channel_id: int) -> None:
        with self._lock:
            self._cooling_until[channel_id] = self._clock() + self._cooldown_seconds

    def is_cooling(self, channel_id: int) -> bool:
        with self._lock:
            return self._clock() < self._cooling_until.get(channel_id, 0.0)

    def note_full(self, channel_id: int, *, sending: str) -> None:
        """The channel answered 1303 to the task ``sending``: its account has no free slot
        beside the gateway's other tasks in flight on it. Until one of those ends, it is full;
        the account may also run tasks of others, so this is forgotten after a cool-down and
        the channel is tried again."""
        slots = task_store.count_in_flight(channel_id, besides=sending)
        with self._lock:
            self._full_at[channel_id] = (slots, self._clock() + self._cooldown_seconds)

    def candidates(self, model: str | None) -> list[ChannelRecord]:
        """Channels to try, best first: the highest priority first, weighted-random within a
        priority; channels cooling down, full, disabled, out of rotation or not allowing the model
        are left out."""
        usable = [c for c in self._usable(model) if self._has_room(c)]
        ordered: list[ChannelRecord] = []
        for priority in sorted({c.priority for c in usable}, reverse=True):
            ordered += self._weighted_order([c for c in usable if c.priority == priority])
        return ordered

    def full(self, model: str | None) -> list[ChannelRecord]:
        """The channels that would take ``model`` but have no free slot: one frees when a task
        in flight on them ends."""
        return [c for c in self._usable(model) if not self._has_room(c)]

    def _usable(self, model: str | None) -> list[ChannelRecord]:
        return [c for c in channel_store.in_rotation()
                if _allows(c, model) and not self.is_cooling(c.id)]

    def _has_room(self, channel: ChannelRecord) -> bool:
        slots = self.slots(channel)
        return slots is None or task_store.count_in_flight(channel.id) < slots

    def slots(self, channel: ChannelRecord) -> int | None:
        """How many tasks the channel takes at once: its ``max_concurrency``, or fewer if its
        account said so lately; None: no known limit."""
        with self._lock:
            learned, until = self._full_at.get(channel.id, (None, 0.0))
            if learned is not None and self._clock() >= until:
                del self._full_at[channel.id]
                learned = None
        limits = [n for n in (channel.max_concurrency, learned) if n is not None]
        return min(limits) if limits else None

    def serves(self, model: str | None) -> bool:
        """Whether any channel in rotation takes ``model`` at all, busy or not (a task then
        waits in the queue rather than fail)."""
        return any(_allows(c, model) for c in channel_store.in_rotation())

    def _weighted_order(self, channels: list[ChannelRecord]) -> list[ChannelRecord]:
        remaining, ordered = list(channels), []
        while remaining:
            pick = self._rng.choices(remaining, weights=[max(c.weight, 0) or 1e-9
                                                         for c in remaining])[0]
            remaining.remove(pick)
            ordered.append(pick)
        return ordered

    def close(self) -> None:
        with self._lock:
            for _, client in self._clients.values():
                client.close()
            self._clients.clear()


def _allows(channel: ChannelRecord, model: str | None) -> bool:
    return not channel.allowed_models or model is None or model in channel.allowed_models
