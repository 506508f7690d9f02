"""The gateway's upstream Kling accounts at run time: a client per channel, the order to try
them in, which ones are cooling down after a failure, and taking a broken one out of rotation.

What the channels are, and how many tasks each holds, is kept elsewhere (the database): this
package reads and writes it only through a :class:`ChannelBook`, handed to :class:`Upstreams`
when it is built, so the upstream side never depends on the storage.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from kling_gateway import metrics
from kling_gateway.config import Settings
from kling_gateway.domain.clock import now_ms
from kling_gateway.upstream import rotation
from kling_gateway.upstream.client import DEFAULT_TIMEOUTS, KlingClient, Timeouts
from kling_gateway.upstream.errors import UpstreamError, UpstreamRefused

log = logging.getLogger(__name__)


class Channel(Protocol):
    """An upstream Kling account as the channels need it (``storage.records.ChannelRecord``
    is one)."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    @property
    def access_key(self) -> str: ...
    @property
    def secret_key(self) -> str: ...
    @property
    def priority(self) -> int: ...
    @property
    def weight(self) -> int: ...
    @property
    def allowed_models(self) -> tuple[str, ...] | None: ...
    @property
    def max_concurrency(self) -> int | None: ...
    @property
    def broken_at(self) -> int | None:
        """Set while the channel is out of rotation."""


class ChannelBook(Protocol):
    """Where the channels and their tasks in flight are kept (``storage.channel_book``)."""

    def in_rotation(self) -> Sequence[Channel]:
        """The enabled channels whose keys and account Kling has not refused."""

    def in_flight(self, channel_id: int, *, besides: str | None = None) -> int:
        """How many of the gateway's tasks hold one of the channel's slots, but for the task
        ``besides``."""

    def take_out(self, channel_id: int, code: int, reason: str, now: int) -> bool:
        """Out of rotation for ``code``; whether this call did it (False: it already was)."""


class Upstreams:
    def __init__(self, book: ChannelBook, *, timeouts: Timeouts = DEFAULT_TIMEOUTS,
                 cooldown_seconds: float = 30.0, stale_after_ms: int = 3_000,
                 rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.book = book
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
    def from_settings(cls, settings: Settings, book: ChannelBook) -> Upstreams:
        return cls(book, timeouts=Timeouts(read=settings.upstream_read_timeout_seconds))

    def client_for(self, channel: Channel) -> KlingClient:
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
        slots = self.book.in_flight(channel_id, besides=sending)
        with self._lock:
            self._full_at[channel_id] = (slots, self._clock() + self._cooldown_seconds)

    def candidates(self, model: str | None) -> list[Channel]:
        """Channels to try, best first: the highest priority first, weighted-random within a
        priority; channels cooling down, full, disabled, out of rotation or not allowing the model
        are left out."""
        usable = [c for c in self._usable(model) if self._has_room(c)]
        ordered: list[Channel] = []
        for priority in sorted({c.priority for c in usable}, reverse=True):
            ordered += self._weighted_order([c for c in usable if c.priority == priority])
        return ordered

    def full(self, model: str | None) -> list[Channel]:
        """The channels that would take ``model`` but have no free slot: one frees when a task
        in flight on them ends."""
        return [c for c in self._usable(model) if not self._has_room(c)]

    def _usable(self, model: str | None) -> list[Channel]:
        return [c for c in self.book.in_rotation()
                if _allows(c, model) and not self.is_cooling(c.id)]

    def _has_room(self, channel: Channel) -> bool:
        slots = self.slots(channel)
        return slots is None or self.book.in_flight(channel.id) < slots

    def slots(self, channel: Channel) -> int | None:
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
        return any(_allows(c, model) for c in self.book.in_rotation())

    def _weighted_order(self, channels: list[Channel]) -> list[Channel]:
        remaining, ordered = list(channels), []
        while remaining:
            pick = self._rng.choices(remaining, weights=[max(c.weight, 0) or 1e-9
                                                         for c in remaining])[0]
            remaining.remove(pick)
            ordered.append(pick)
        return ordered

    def take_out_if_broken(self, channel: Channel, error: UpstreamError) -> bool:
        """Take the channel out of rotation if ``error`` refuses its keys or account; whether it
        did refuse them. Only the process that takes it out logs and counts it."""
        if not (isinstance(error, UpstreamRefused) and error.code in rotation.BROKEN_CODES):
            return False
        if channel.broken_at is None and self.book.take_out(channel.id, error.code,
                                                            error.message, now_ms()):
            log.warning("channel %s taken out of rotation: Kling refused its keys or account "
                        "with %s: %s", channel.name, error.code, error.message)
            metrics.channel_taken_out(channel.name, error.code)
        return True

    def close(self) -> None:
        with self._lock:
            for _, client in self._clients.values():
                client.close()
            self._clients.clear()


def _allows(channel: Channel, model: str | None) -> bool:
    return not channel.allowed_models or model is None or model in channel.allowed_models
