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
from kling_gateway.storage.db import release_connection
from kling_gateway.upstream.channels import Upstreams
from kling_gateway.worker import callbacks
from kling_gateway.worker.policy import DEFAULT_POLICY, SyncPolicy
from kling_gateway.worker.syncer import Syncer

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
        """Sync, the queue and callback delivery run as three loops, so that slow client
        servers never delay the tasks themselves, and a long round of polls never delays
        sending a queued task to a slot that freed."""
        log.info("worker %s started", self.syncer.owner)
        others = [threading.Thread(target=self._loop, args=(name, step),
                                   name=f"kling-gateway-{name}", daemon=True)
                  for name, step in (("callbacks", self._deliver), ("queue", self._drain))]
        for thread in others:
            thread.start()
        try:
            self._loop("sync", self._sync)
        finally:
            for thread in others:
                thread.join(timeout=30)
            self.syncer.close()
            release_connection()
            log.info("worker %s stopped", self.syncer.owner)

    def _sync(self) -> float:
        return 0 if self.syncer.poll_due() else self.idle_seconds

    def _deliver(self) -> float:
        return 0 if callbacks.deliver_due(self.settings) else self.idle_seconds

    def _drain(self) -> float:
        drain = self.syncer.drain_queue()
        if drain.moved:
            return 0
        return self.syncer.policy.queue_watch_ms / 1000 if drain.waiting else self.idle_seconds

    def _loop(self, name: str, step: Callable[[], float]) -> None:
        """Run passes of ``step`` until told to stop; each answers how long to pause."""
        while not self.stopping.is_set():
            try:
                pause = step()
            except Exception:  # a database hiccup must not end the worker
                log.exception("worker %s pass failed", name)
                pause = self.idle_seconds
            finally:
                release_connection()  # a pass is a unit of work: its connection goes back
            self.stopping.wait(pause)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="kling-gateway-worker", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stopping.set()
