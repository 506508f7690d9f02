"""Delivers task status changes to callers' ``callback_url``s, in the order they happened.

Kling POSTs the bare task object (no envelope) on every status change. One delivery thread keeps
the order; a failed delivery is logged and dropped, as Kling documents no retries.
"""

from __future__ import annotations

import logging
import queue
import threading

import requests

from kling_gateway.simulator.tasks import StatusChange

log = logging.getLogger(__name__)
DELIVERY_TIMEOUT_SECONDS = 5.0


class CallbackOutbox:
    def __init__(self) -> None:
        self._queue: queue.Queue[StatusChange | None] = queue.Queue()
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._run, name="sim-callbacks", daemon=True)
        self._thread.start()

    def put(self, change: StatusChange) -> None:
        self._queue.put(change)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=DELIVERY_TIMEOUT_SECONDS)

    def _run(self) -> None:
        while (change := self._queue.get()) is not None:
            self._deliver(change)

    def _deliver(self, change: StatusChange) -> None:
        try:
            self._session.post(change.callback_url, json=change.task,
                               headers={"Content-Type": "application/json; charset=utf-8"},
                               timeout=DELIVERY_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            log.warning("callback to %s failed: %s", change.callback_url, exc)
