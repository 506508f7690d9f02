"""Background sync: tasks finish on their own.

Each pass claims the tasks that are due (with a lease, so several workers never handle the same
task at once), then for each one: sends a queued task, reconciles a ``submitting`` one the
gateway lost track of, polls a running one, or fails (and refunds) a task that waited or ran too
long. Polling backs off from a couple of seconds to a ceiling; requests are spread over a thread
pool with a cap per channel.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from kling_gateway.config import Settings
from kling_gateway.domain.tasks import TaskStatus
from kling_gateway.services import task_states, tasks
from kling_gateway.services.context import GatewayContext
from kling_gateway.services.upstreams import Upstreams
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.db import database
from kling_gateway.storage.models import Task

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncPolicy:
    first_poll_ms: int = 2_000
    poll_ceiling_ms: int = 30_000
    backoff: float = 1.5
    lease_ms: int = 60_000
    batch: int = 200
    threads: int = 16
    per_channel: int = 8
    """Upstream requests in flight at once per channel."""
    lost_after_ms: int = tasks.LOST_AFTER_MS
    """A ``submitting`` task this old lost its request (a crash): reconcile it."""

    def next_poll_in(self, polls: int) -> int:
        return min(self.poll_ceiling_ms, int(self.first_poll_ms * self.backoff ** polls))


DEFAULT_POLICY = SyncPolicy()


class Syncer:
    def __init__(self, settings: Settings, upstreams: Upstreams, owner: str,
                 policy: SyncPolicy = DEFAULT_POLICY) -> None:
        self.settings = settings
        self.upstreams = upstreams
        self.owner = owner
        self.policy = policy
        self._pool = ThreadPoolExecutor(max_workers=policy.threads,
                                        thread_name_prefix=f"sync-{owner}")
        self._slots_lock = threading.Lock()
        self._channel_slots: dict[int | None, threading.Semaphore] = {}

    def run_once(self, now: int | None = None) -> int:
        """Handle every task due by ``now`` (default: now); returns how many were handled."""
        now = task_states.now_ms() if now is None else now
        claimed = task_store.claim_due(self.owner, now, self.policy.batch, self.policy.lease_ms)
        list(self._pool.map(self._in_pool, claimed))
        return len(claimed) + self._dispatch_queue(now)

    def _in_pool(self, task: Task) -> None:
        try:
            self._handle_and_release(task)
        finally:
            database.close()  # pool threads hold their own connections

    def _dispatch_queue(self, now: int) -> int:
        """Send queued tasks oldest first while slots are free; the first one that stays queued
        means every channel is still full, and the rest keep their place in line."""
        queued = task_store.claim_due(self.owner, now, self.policy.batch, self.policy.lease_ms,
                                      queued=True)
        still_full = False
        for task in queued:
            if still_full:  # keep its place in line; only check how long it has waited
                self._expired(task, TaskStatus.QUEUED, task_states.now_ms())
                task_store.release(task.id, self.owner, next_poll_at=now, count_poll=False)
                continue
            self._handle_and_release(task, retry_in_ms=0)
            still_full = Task.get_by_id(task.id).status == TaskStatus.QUEUED
        return len(queued)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _handle_and_release(self, task: Task, retry_in_ms: int | None = None) -> None:
        wait = self.policy.next_poll_in(task.poll_count) if retry_in_ms is None else retry_in_ms
        try:
            with self._slot(task.channel_id):
                self._handle(task)
        except Exception:  # one broken task must not stop the others; it is retried later
            log.exception("sync of task %s failed", task.id)
        finally:
            task_store.release(task.id, self.owner, task_states.now_ms() + wait)

    def _handle(self, task: Task) -> None:
        now = task_states.now_ms()
        status = TaskStatus(task.status)
        if self._expired(task, status, now):
            return
        if status is TaskStatus.QUEUED:
            tasks.dispatch_queued(GatewayContext(self.settings, self.upstreams), task)
        elif status is TaskStatus.SUBMITTING and now - task.updated_at <= self.policy.lost_after_ms:
            return  # its create request may still be on its way: leave it alone for now
        elif status is TaskStatus.SUBMITTING and task.channel_id is None:
            task_states.advance(task.id, TaskStatus.QUEUED)  # never sent anywhere: send it
        else:
            tasks.refresh_if_stale(self.upstreams, task, force=True,
                                   lost_after_ms=self.policy.lost_after_ms)

    def _expired(self, task: Task, status: TaskStatus, now: int) -> bool:
        age_ms = now - task.created_at
        if status is TaskStatus.QUEUED and age_ms > self.settings.queue_timeout_seconds * 1000:
            reason = (f"no upstream slot became free within "
                      f"{self.settings.queue_timeout_seconds // 60} minutes")
        elif age_ms > self.settings.task_timeout_seconds * 1000:
            reason = f"the task did not finish within {self.settings.task_timeout_seconds} s"
        else:
            return False
        task_states.advance(task.id, TaskStatus.FAILED, status_msg=reason)
        return True

    @contextmanager
    def _slot(self, channel_id: int | None) -> Iterator[None]:
        with self._slots_lock:
            slot = self._channel_slots.setdefault(
                channel_id, threading.BoundedSemaphore(self.policy.per_channel))
        with slot:
            yield
