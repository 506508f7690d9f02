"""Spreading upstream requests: at most so many in flight at once per channel, and so many a
second."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Pace:
    """At most ``per_second`` starts per second, spread evenly; callers wait their turn, one at
    a time. Each start is spaced from when the previous one was actually let go, not from when
    it was due, so a late wake-up never bunches two starts together: any one second holds at
    most ``per_second`` of them."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next = -math.inf
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            delay = self._next - self._clock()
            if delay > 0:
                self._sleep(delay)
            self._next = self._clock() + self._interval


class ChannelGate:
    """Per channel: ``per_channel`` requests in flight at once, ``per_second`` started a
    second."""

    def __init__(self, per_channel: int, per_second: float) -> None:
        self._per_channel = per_channel
        self._per_second = per_second
        self._lock = threading.Lock()
        self._slots: dict[int | None, threading.Semaphore] = {}
        self._paces: dict[int | None, Pace] = {}

    @contextmanager
    def slot(self, channel_id: int | None) -> Iterator[None]:
        with self._lock:
            slot = self._slots.setdefault(
                channel_id, threading.BoundedSemaphore(self._per_channel))
            pace = self._paces.setdefault(channel_id, Pace(self._per_second))
        with slot:
            pace.wait()
            yield
