"""Background sync: tasks finish on their own.

Each pass first checks the channels out of rotation whose turn has come (``rotation``), then
claims the tasks that are due (with a lease, so several workers never handle the same task at
once), then for each one: reconciles a ``submitting`` one the gateway lost track of, polls a
running one, or fails (and refunds) a task that ran too long. Polling backs off from a couple of
seconds to a ceiling; requests are spread over a thread pool with a cap per channel.

The queue drains on its own: queued tasks go oldest first as soon as a channel has room, and
while they wait for full channels, the tasks running there are read every ``queue_watch_ms``
whatever their poll schedule, so a slot that frees is used at once.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kling_gateway.config import Settings
from kling_gateway.domain import families
from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.tasks import TaskStatus, can_move, upstream_status
from kling_gateway.services import rotation, task_states, tasks
from kling_gateway.services.context import GatewayContext
from kling_gateway.services.upstreams import Upstreams
from kling_gateway.storage import channels as channel_store
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.db import release_connection, releasing_connection
from kling_gateway.storage.records import ChannelRecord, TaskRow
from kling_gateway.upstream.errors import UpstreamError

log = logging.getLogger(__name__)
_RUNNING = (TaskStatus.SUBMITTED, TaskStatus.PROCESSING)


@dataclass(frozen=True)
class SyncPolicy:
    first_poll_ms: int = tasks.FIRST_POLL_MS
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
    list_ahead_ms: int = 5_000
    """A walk of the list costs the same however many tasks it reads, so it also reads the
    tasks of the channel and family due within this long: walks come less often."""
    list_slack_ms: int = 300_000
    """The list is read no further than this much before the oldest wanted task was created
    at the gateway (Kling's clock may differ from ours)."""
    lost_after_ms: int = tasks.LOST_AFTER_MS
    """A ``submitting`` task this old lost its request (a crash): reconcile it."""
    queue_batch: int = 20
    """Queued tasks leased at a time from the head of the line."""
    queue_watch_ms: int = 250
    """While tasks wait for full channels, the tasks running on them are read from upstream
    (one walk of the list per channel and family) this often, due or not: a slot that frees
    is seen, and used, within this long. It is also the pause between two looks at a queue
    that waits."""

    def next_poll_in(self, polls: int) -> int:
        return min(self.poll_ceiling_ms, int(self.first_poll_ms * self.backoff ** polls))


DEFAULT_POLICY = SyncPolicy()


@dataclass(frozen=True)
class Drain:
    """What one look at the queue did."""

    moved: int
    """Queued tasks that left the queue: sent, or failed (refused upstream, waited too long)."""
    waiting: bool
    """Tasks still wait for a free slot."""


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
        """Handle every task due by ``now`` (default: now), then send what the queue can;
        returns how many tasks were handled (0: nothing was due and nothing could be sent)."""
        now = now_ms() if now is None else now
        return self.poll_due(now) + self.drain_queue(now).moved

    def poll_due(self, now: int | None = None) -> int:
        """Handle every in-flight task due by ``now`` (default: now); returns how many."""
        now = now_ms() if now is None else now
        self._check_channels(now)  # first: a channel back in rotation takes queued tasks now
        claimed = task_store.claim_due(self.owner, now, self.policy.batch, self.policy.lease_ms)
        claimed += self._claim_list_groups(claimed, now)
        listed = self._poll_by_list(claimed)
        # Each task hands its pooled connection back when done (no reconnect: the pool keeps
        # it open for the next one).
        list(self._pool.map(self._handle_and_release,
                            [t for t in claimed if t.id not in listed]))
        return len(claimed)

    def _check_channels(self, now: int) -> None:
        """Ask each channel out of rotation whose turn has come whether it works again."""
        due = rotation.due_for_check(now, self.settings.channel_check_seconds)
        list(self._pool.map(self._check_and_release, due))

    @releasing_connection
    def _check_and_release(self, channel: ChannelRecord) -> None:
        try:
            rotation.check(self.upstreams, channel)
        except Exception:  # one channel's trouble must not stop the pass
            log.exception("check of channel %s failed", channel.name)

    def _list_groups(self, claimed: list[TaskRow]) -> dict[tuple[int, str], list[TaskRow]]:
        """Running tasks by channel and family, the groups large enough to read from the list."""
        return {key: group for key, group in _by_channel_and_family(claimed).items()
                if len(group) >= self.policy.list_from}

    def _claim_list_groups(self, claimed: list[TaskRow], now: int) -> list[TaskRow]:
        """When a group is read from the list anyway, every due task of that channel and
        family comes along: one walk of the list per pass instead of one per batch."""
        most = self.policy.list_page_size * self.policy.list_max_pages
        more: list[TaskRow] = []
        for (channel_id, family), group in self._list_groups(claimed).items():
            if len(group) < most:
                more += task_store.claim_due_running(
                    self.owner, now, most - len(group), self.policy.lease_ms,
                    channel_id=channel_id, family=family,
                    due_by=now + self.policy.list_ahead_ms)
        return more

    def _poll_by_list(self, claimed: list[TaskRow]) -> set[str]:
        """Read large groups of running tasks page by page; answers the ids it handled."""
        handled: set[str] = set()
        for (channel_id, family), group in self._list_groups(claimed).items():
            handled |= self._walk_list(channel_id, family, group).seen
        return handled

    def _walk_list(self, channel_id: int, family: str, group: list[TaskRow], *,
                   scheduled: bool = True) -> _Walk:
        """Read the channel's list of ``family`` until every task of ``group`` was seen; a task
        whose state moved goes through ``apply_upstream`` (the state machine) on the pool while
        the next pages are read; for the rest, which are most of them, only the bookkeeping of
        a poll is written, in a few statements for all (not ``scheduled``: a look the poll
        schedule did not ask for, on tasks that may be leased; see ``_note_read``). Answers
        what the walk found."""
        wanted = {task.upstream_task_id: task for task in group}
        channel = channel_store.channel_by_id(channel_id)
        client = self.upstreams.client_for(channel)
        path = families.named(family).path
        walk = _Walk()
        # Kling lists newest first, finished tasks too, and the claimed tasks may be the
        # oldest in flight: read until every one was seen, or the list is older than any of
        # them, or it ends (bounded).
        oldest = min(task.created_at for task in group) - self.policy.list_slack_ms
        for page in range(1, self.policy.list_max_pages + 1):
            try:
                with self._slot(channel_id):
                    rows = client.get(path, {"pageNum": page,
                                             "pageSize": self.policy.list_page_size}) or []
            except UpstreamError as failure:
                rotation.take_out_if_broken(channel, failure)
                log.info("listing %s on channel %s failed: %s", family, channel_id, failure)
                break
            for row in rows:
                task = wanted.get(str(row.get("task_id")))
                if task is not None and task.id not in walk.seen:
                    self._take(walk, task, row)
            if (len(walk.seen) == len(group) or len(rows) < self.policy.list_page_size
                    or _created_before(rows[-1], oldest)):
                break
        wait_for(walk.applying)
        if scheduled:
            self._release(walk.unchanged, synced_at=now_ms())
            self._release(walk.settled)
        else:
            self._note_read(walk.unchanged)
        return walk

    def _take(self, walk: _Walk, task: TaskRow, row: dict[str, Any]) -> None:
        walk.seen.add(task.id)
        if self._moves(task, row):
            walk.applying.append(self._pool.submit(self._apply_and_log, task, row))
            walk.settled.append(task)
        elif self._expired(task, TaskStatus(task.status), now_ms()):
            walk.settled.append(task)
        else:
            walk.unchanged.append(task)

    @staticmethod
    def _moves(task: TaskRow, row: dict[str, Any]) -> bool:
        """Whether the listed state moves the task. States only move forward, so a state the
        task could not move to from the one claimed is no move either (the state machine
        would refuse it)."""
        status = upstream_status(row.get("task_status"))
        return status is not None and can_move(TaskStatus(task.status), status)

    def _release(self, polled: list[TaskRow], *, synced_at: int | None = None) -> None:
        """Hand back polled tasks, each due again after its backoff."""
        start = now_ms() if synced_at is None else synced_at
        for wait, task_ids in self._by_wait(polled).items():
            task_store.release_many(task_ids, self.owner, start + wait, synced_at=synced_at)

    def _note_read(self, read: list[TaskRow]) -> None:
        """Tasks read out of their schedule, unchanged: their next poll is put off by the
        interval they are at."""
        start = now_ms()
        for wait, task_ids in self._by_wait(read).items():
            task_store.note_read(task_ids, start, start + wait)

    def _by_wait(self, group: list[TaskRow]) -> dict[int, list[str]]:
        """Task ids by the wait before their next poll."""
        waits: dict[int, list[str]] = {}
        for task in group:
            waits.setdefault(self.policy.next_poll_in(task.poll_count), []).append(task.id)
        return waits

    @staticmethod
    @releasing_connection
    def _apply_and_log(task: TaskRow, row: dict[str, Any]) -> None:
        try:
            tasks.apply_upstream(task.id, row)
        except Exception:  # one broken task must not stop the others; it is retried later
            log.exception("sync of task %s failed", task.id)

    def drain_queue(self, now: int | None = None) -> Drain:
        """Send queued tasks oldest first while a channel has room for the head of the line.
        When it finds none, read the tasks running on the full channels it waits for, and go
        on if one of them ended. Only the worker holding the head sends (see
        ``claim_queue_head``)."""
        now = now_ms() if now is None else now
        moved, watched = 0, False
        while (head := task_store.queue_head()) is not None:
            if head.lease_owner not in (None, self.owner) and (head.lease_until or 0) >= now:
                break  # another worker is sending from the queue
            if not (self._has_room_for(head)
                    or self._too_old(head, TaskStatus.QUEUED, now_ms())):
                if watched or not self._watch(head, now):
                    break
                watched = True
                continue
            sent, stuck = self._send_head(now)
            moved += sent
            if stuck or not sent:
                break
        return Drain(moved, waiting=head is not None)

    def _has_room_for(self, task: TaskRow) -> bool:
        """Whether sending ``task`` now would not just queue it again: a channel has room, or
        none takes its model any more (it fails)."""
        return (bool(self.upstreams.candidates(task.model_name))
                or not self.upstreams.serves(task.model_name))

    def _send_head(self, now: int) -> tuple[int, bool]:
        """Lease the head of the line and send it, oldest first, until one stays queued (no
        room after all); it and the rest keep their places. Answers how many left the queue
        and whether one stayed."""
        line = task_store.claim_queue_head(self.owner, now, self.policy.queue_batch,
                                           self.policy.lease_ms)
        for index, task in enumerate(line):
            if not self._send_queued(task):
                task_store.release_many([t.id for t in line[index + 1:]], self.owner, now,
                                        count_poll=False)
                return index, True
        return len(line), False

    def _send_queued(self, task: TaskRow) -> bool:
        """Send one leased queued task; whether it left the queue. A task that stays is due
        again at once; one that went starts its polls like any new task (waiting is no poll).
        Not paced like polls: a create goes only into a free slot, so the channel's capacity
        bounds them, as it bounds the creates of the gateway's own submits."""
        left = False
        try:
            if not self._expired(task, TaskStatus.QUEUED, now_ms()):
                tasks.dispatch_queued(GatewayContext(self.settings, self.upstreams), task)
            left = task_store.status_of(task.id) != TaskStatus.QUEUED
        except Exception:  # one broken task must not stop the others; it is retried later
            log.exception("sending queued task %s failed", task.id)
        finally:
            wait = self.policy.next_poll_in(task.poll_count) if left else 0
            task_store.release(task.id, self.owner, now_ms() + wait, count_poll=False)
        return left

    def _watch(self, head: TaskRow, now: int) -> bool:
        """Read the tasks running on the full channels ``head`` waits for (those not read
        within ``queue_watch_ms``), whatever their poll schedule: whether the state of any of
        them moved (one that ended freed its slot). Leased ones too: a lease keeps two workers
        from polling one task, and this is one read of the list for all; a move it finds
        goes through the state machine, which lets only one of two readers apply it."""
        full = [channel.id for channel in self.upstreams.full(head.model_name)]
        if not full:
            return False
        running = task_store.running_on(full, now - self.policy.queue_watch_ms,
                                        self.policy.list_page_size)
        moved = False
        for (channel_id, family), group in _by_channel_and_family(running).items():
            moved |= bool(self._walk_list(channel_id, family, group, scheduled=False).settled)
        return moved

    def close(self) -> None:
        """Let the polls in flight finish, then hand back any lease still held."""
        self._pool.shutdown(wait=True)
        task_store.release_all(self.owner)

    def _handle_and_release(self, task: TaskRow) -> None:
        wait = self.policy.next_poll_in(task.poll_count)
        try:
            with self._slot(task.channel_id):
                self._handle(task)
        except Exception:  # one broken task must not stop the others; it is retried later
            log.exception("sync of task %s failed", task.id)
        finally:
            task_store.release(task.id, self.owner, now_ms() + wait)
            release_connection()  # this pool thread's connection, back for the next task

    def _handle(self, task: TaskRow) -> None:
        now = now_ms()
        status = TaskStatus(task.status)
        if self._expired(task, status, now):
            return
        if status is TaskStatus.SUBMITTING and now - task.updated_at <= self.policy.lost_after_ms:
            return  # its create request may still be on its way: leave it alone for now
        elif status is TaskStatus.SUBMITTING and task.channel_id is None:
            task_states.advance(task.id, TaskStatus.QUEUED)  # never sent anywhere: send it
        else:
            tasks.refresh_if_stale(self.upstreams, task, force=True,
                                   lost_after_ms=self.policy.lost_after_ms)

    def _expired(self, task: TaskRow, status: TaskStatus, now: int) -> bool:
        """Fail (and refund) a task that waited or ran too long; whether it did."""
        reason = self._too_old(task, status, now)
        if reason:
            task_states.advance(task.id, TaskStatus.FAILED, status_msg=reason)
        return bool(reason)

    def _too_old(self, task: TaskRow, status: TaskStatus, now: int) -> str:
        """Why the task waited or ran too long; empty if it did not."""
        age_ms = now - task.created_at
        if status is TaskStatus.QUEUED and age_ms > self.settings.queue_timeout_seconds * 1000:
            return (f"no upstream slot became free within "
                    f"{self.settings.queue_timeout_seconds // 60} minutes")
        if age_ms > self.settings.task_timeout_seconds * 1000:
            return f"the task did not finish within {self.settings.task_timeout_seconds} s"
        return ""

    @contextmanager
    def _slot(self, channel_id: int | None) -> Iterator[None]:
        with self._slots_lock:
            slot = self._channel_slots.setdefault(
                channel_id, threading.BoundedSemaphore(self.policy.per_channel))
            pace = self._channel_pace.setdefault(channel_id, Pace(self.policy.per_channel_rps))
        with slot:
            pace.wait()
            yield


@dataclass
class _Walk:
    """What one walk of the list found, so far."""

    seen: set[str] = field(default_factory=set)
    unchanged: list[TaskRow] = field(default_factory=list)
    """Their state stays: only the poll is recorded."""
    settled: list[TaskRow] = field(default_factory=list)
    """Moved by the state machine (``applying``) or failed for their age."""
    applying: list[Future[None]] = field(default_factory=list)


def _by_channel_and_family(claimed: list[TaskRow]) -> dict[tuple[int, str], list[TaskRow]]:
    """The running tasks among ``claimed`` that Kling's task lists can answer for, by channel
    and family."""
    groups: dict[tuple[int, str], list[TaskRow]] = {}
    for task in claimed:
        if task.upstream_task_id and task.channel_id and task.status in _RUNNING:
            groups.setdefault((task.channel_id, task.family), []).append(task)
    return groups


def _created_before(row: dict[str, Any], moment_ms: int) -> bool:
    created = row.get("created_at")
    return isinstance(created, int) and created < moment_ms


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
