"""``kling-gateway worker``, unchanged, with counters on where its time goes.

It runs the very ``kling-gateway worker`` command (``kling_gateway.cli.main(["worker"])``) and
only wraps a few calls to count them and add up their wall time, per process (summed over the
sync pool's threads):

- ``psycopg2.connect``: PostgreSQL connections opened;
- every SQL statement peewee runs (a peewee query hook), by its first keyword;
- ``KlingClient._call``: upstream HTTP requests, with the most in flight at once and the most
  started within any one second (the benchmark runs one channel, so these are per channel);
- ``Pace.wait``: time spent waiting for the channel's requests-per-second pace, and the most
  requests it let go within any one second.

The totals go as JSON to the file named by ``BENCH_PROBE_OUT``, every second and at exit. The
wrappers cost a few microseconds per call. Used by ``bench/run.py``; not a test.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg2

from kling_gateway import cli
from kling_gateway.storage import db as db_module
from kling_gateway.upstream import client as client_module
from kling_gateway.worker import pace

_lock = threading.Lock()
_totals: dict[str, Any] = {"connects": 0, "connect_seconds": 0.0, "statements": 0,
                           "statement_seconds": 0.0, "statements_by_kind": {},
                           "upstream_calls": 0, "upstream_seconds": 0.0,
                           "pace_waits": 0, "pace_seconds": 0.0,
                           "upstream_max_in_flight": 0, "upstream_max_per_second": 0,
                           "pace_max_per_second": 0}
_upstream_in_flight = 0


class LastSecond:
    """The most events seen within any one second (a sliding window)."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()
        self.most = 0

    def add(self, now: float) -> None:
        self._times.append(now)
        while self._times[0] <= now - 1.0:
            self._times.popleft()
        self.most = max(self.most, len(self._times))


_request_starts = LastSecond()
_pace_exits = LastSecond()
_KEYS = {"connect": "connects", "statement": "statements", "upstream": "upstream_calls",
         "pace": "pace_waits"}


def _count(kind: str, seconds: float, statement: str | None = None) -> None:
    with _lock:
        _totals[_KEYS[kind]] += 1
        _totals[kind + "_seconds"] += seconds
        if statement is not None:
            by_kind = _totals["statements_by_kind"]
            by_kind[statement] = by_kind.get(statement, 0) + 1


def _timed(kind: str, call: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            _count(kind, time.perf_counter() - start)
    return wrapper


def _upstream_started() -> None:
    """Counts the requests in flight and those started within the last second."""
    global _upstream_in_flight
    with _lock:
        _upstream_in_flight += 1
        _request_starts.add(time.monotonic())
        _totals["upstream_max_in_flight"] = max(_totals["upstream_max_in_flight"],
                                                _upstream_in_flight)
        _totals["upstream_max_per_second"] = _request_starts.most


def _upstream_ended() -> None:
    global _upstream_in_flight
    with _lock:
        _upstream_in_flight -= 1


def _counted_upstream(call: Callable[..., Any]) -> Callable[..., Any]:
    timed = _timed("upstream", call)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _upstream_started()
        try:
            return timed(*args, **kwargs)
        finally:
            _upstream_ended()
    return wrapper


def _counted_pace(wait: Callable[..., Any]) -> Callable[..., Any]:
    """The pace's own view: how many requests it let go within any one second (a request
    starts a little later, after thread switches, so their starts can bunch a little)."""
    timed = _timed("pace", wait)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return timed(*args, **kwargs)
        finally:
            with _lock:
                _pace_exits.add(time.monotonic())
                _totals["pace_max_per_second"] = _pace_exits.most
    return wrapper


def _on_query(event: Any) -> None:
    words = str(event.sql).split(None, 1)
    _count("statement", event.duration, words[0].upper() if words else "?")


def _open_database(url: str) -> Any:
    opened = _original_open_database(url)
    opened.query_hooks.append(_on_query)
    return opened


def _dump(path: Path) -> None:
    with _lock:
        text = json.dumps(_totals)
    partial = path.with_suffix(".tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _dump_every_second(path: Path, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        _dump(path)


_original_open_database = db_module.open_database


def main() -> int:
    out = Path(os.environ["BENCH_PROBE_OUT"])
    psycopg2.connect = _timed("connect", psycopg2.connect)
    db_module.open_database = _open_database  # cli's worker imports it when it runs
    client_module.KlingClient._call = _counted_upstream(client_module.KlingClient._call)
    if hasattr(pace, "Pace"):
        pace.Pace.wait = _counted_pace(pace.Pace.wait)
    stop = threading.Event()
    writer = threading.Thread(target=_dump_every_second, args=(out, stop), daemon=True)
    writer.start()
    try:
        return cli.main(["worker"])
    finally:
        stop.set()
        _dump(out)


if __name__ == "__main__":
    sys.exit(main())
