"""The worker loop: sync tasks with their upstreams and deliver client callbacks, until told to
stop. ``kling-gateway worker`` runs it as a process; ``serve`` runs one in a thread."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import replace

from kling_gateway.config import Settings
from kling_gateway.services import callbacks
from kling_gateway.services.sync import DEFAULT_POLICY, Syncer, SyncPolicy
from kling_gateway.services.upstreams import Upstreams
from kling_gateway.storage.db import release_connection

log = logging.getLogger(__name__)
IDLE_SECONDS = 1.0


def worker_name() -> str:
    """Unique per process and start, so a restarted worker never mistakes old leases for its own."""
    return f"{socket.gethostname()[:30]}-{os.getpid()}-{secrets.token_hex(3)}"


class Worker:
    def __init__(self, settings: Settings, upstreams: Upstreams, *,
                 policy: SyncPolicy | None = None, idle_seconds: float = IDLE_SECONDS) -> None:
        self.settings = settings
        policy = policy or replace(DEFAULT_POLICY,
                                   lost_after_ms=int(settings.lost_after_seconds * 1000))
        self.syncer = Syncer(settings, upstreams, worker_name(), policy)
        self.idle_seconds = idle_seconds
        self.stopping = threading.Event()

    def run_once(self) -> int:
        """One pass of each loop; returns how much work it found (0: nothing was due)."""
        return self.syncer.run_once() + callbacks.deliver_due(self.settings)

    def run(self) -> None:
        """Sync and callback delivery run as two loops, so that slow client servers never
        delay the tasks themselves."""
        log.info("worker %s started", self.syncer.owner)
        deliveries = threading.Thread(
            target=self._loop, args=("callbacks", lambda: callbacks.deliver_due(self.settings)),
            name="kling-gateway-callbacks", daemon=True)
        deliveries.start()
        try:
            self._loop("sync", self.syncer.run_once)
        finally:
            deliveries.join(timeout=30)
            self.syncer.close()
            release_connection()
            log.info("worker %s stopped", self.syncer.owner)

    def _loop(self, name: str, step: Callable[[], int]) -> None:
        while not self.stopping.is_set():
            try:
                busy = step()
            except Exception:  # a database hiccup must not end the worker
                log.exception("worker %s pass failed", name)
                busy = 0
            finally:
                release_connection()  # a pass is a unit of work: its connection goes back
            self.stopping.wait(0 if busy else self.idle_seconds)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="kling-gateway-worker", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stopping.set()
