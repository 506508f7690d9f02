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
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from kling_gateway.config import Settings
from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.families import Family
from kling_gateway.domain.tasks import TaskStatus
from kling_gateway.services import task_states, tasks
from kling_gateway.services.context import GatewayContext
from kling_gateway.services.upstreams import Upstreams
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.models import Channel, Task
from kling_gateway.upstream.errors import UpstreamError
from kling_gateway.upstream.paths import TASK_PATHS

log = logging.getLogger(__name__)
_RUNNING = (TaskStatus.SUBMITTED, TaskStatus.PROCESSING)


@dataclass(frozen=True)
class SyncPolicy:
    first_poll_ms: int = 2_000
    poll_ceiling_ms: int = 30_000
    backoff: float = 1.5
    lease_ms: int = 60_000
    batch: int = 200
    threads: int = 16
    per_channel: int = 8
    """Upstream requests in flight at once per channel ..."""
    per_channel_rps: float = 20.0
    """... and per second."""
    list_from: int = 20
    """From this many due tasks of one family on one channel, read them from Kling's list
    (500 a page) instead of one query each."""
    list_page_size: int = 500
    list_max_pages: int = 40
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
        self._channel_pace: dict[int | None, Pace] = {}

    def run_once(self, now: int | None = None) -> int:
        """Handle every task due by ``now`` (default: now); returns how many were handled."""
        now = now_ms() if now is None else now
        claimed = task_store.claim_due(self.owner, now, self.policy.batch, self.policy.lease_ms)
        listed = self._poll_by_list(claimed)
        # Pool threads keep their own database connection for the worker's lifetime: closing it
        # after each task made every poll reconnect (about 6 ms on PostgreSQL).
        list(self._pool.map(self._handle_and_release,
                            [t for t in claimed if t.id not in listed]))
        return len(claimed) + self._dispatch_queue(now)

    def _poll_by_list(self, claimed: list[Task]) -> set[str]:
        """Read large groups of running tasks page by page; answers the ids it handled."""
        groups: dict[tuple[int, str], list[Task]] = {}
        for task in claimed:
            if task.upstream_task_id and task.channel_id and task.status in _RUNNING:
                groups.setdefault((task.channel_id, task.family), []).append(task)
        handled: set[str] = set()
        for (channel_id, family), group in groups.items():
            if len(group) >= self.policy.list_from:
                handled |= self._read_pages(channel_id, family, group)
        return handled

    def _read_pages(self, channel_id: int, family: str, group: list[Task]) -> set[str]:
        wanted = {task.upstream_task_id: task for task in group}
        client = self.upstreams.client_for(Channel.get_by_id(channel_id))
        path = TASK_PATHS[Family(family)]
        found: dict[str, Task] = {}
        # Kling lists newest first and the claimed tasks may be the oldest in flight, so read
        # as deep as this channel's tasks in flight go (bounded), stopping once all are found.
        in_flight = task_store.count_running(channel_id, family)
        pages = min(in_flight // self.policy.list_page_size + 2, self.policy.list_max_pages)
        for page in range(1, pages + 1):
            try:
                with self._slot(channel_id):
                    rows = client.get(path, {"pageNum": page,
                                             "pageSize": self.policy.list_page_size})
            except UpstreamError as failure:
                log.info("listing %s on channel %s failed: %s", family, channel_id, failure)
                break
            for row in rows or []:
                task = wanted.get(str(row.get("task_id")))
                if task is not None and task.id not in found:
                    tasks.apply_upstream(task.id, row)
                    found[task.id] = task
            if len(found) == len(group) or len(rows or []) < self.policy.list_page_size:
                break
        for task in found.values():
            task_store.release(task.id, self.owner,
                               now_ms() + self.policy.next_poll_in(task.poll_count))
        return set(found)

    def _dispatch_queue(self, now: int) -> int:
        """Send queued tasks oldest first while slots are free; the first one that stays queued
        means every channel is still full, and the rest keep their place in line."""
        queued = task_store.claim_due(self.owner, now, self.policy.batch, self.policy.lease_ms,
                                      queued=True)
        still_full = False
        for task in queued:
            if still_full:  # keep its place in line; only check how long it has waited
                self._expired(task, TaskStatus.QUEUED, now_ms())
                task_store.release(task.id, self.owner, next_poll_at=now, count_poll=False)
                continue
            self._handle_and_release(task, retry_in_ms=0)
            still_full = Task.get_by_id(task.id).status == TaskStatus.QUEUED
        return len(queued)

    def close(self) -> None:
        """Let the polls in flight finish, then hand back any lease still held."""
        self._pool.shutdown(wait=True)
        task_store.release_all(self.owner)

    def _handle_and_release(self, task: Task, retry_in_ms: int | None = None) -> None:
        wait = self.policy.next_poll_in(task.poll_count) if retry_in_ms is None else retry_in_ms
        try:
            with self._slot(task.channel_id):
                self._handle(task)
        except Exception:  # one broken task must not stop the others; it is retried later
            log.exception("sync of task %s failed", task.id)
        finally:
            task_store.release(task.id, self.owner, now_ms() + wait)

    def _handle(self, task: Task) -> None:
        now = now_ms()
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
            pace = self._channel_pace.setdefault(channel_id, Pace(self.policy.per_channel_rps))
        with slot:
            pace.wait()
            yield


class Pace:
    """At most ``per_second`` starts per second, spread evenly; callers wait their turn."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            self._sleep(start - now)
