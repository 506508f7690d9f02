"""Reading many running tasks at once from Kling's task lists instead of one query each.

Kling lists a channel's tasks of one family newest first, 500 a page. A group of due tasks of
one channel and family large enough is read from the list; a task whose state moved goes
through the state machine, the rest get only the bookkeeping of a poll, in a few statements.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from typing import Any

from kling_gateway.domain import families
from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.tasks import TaskStatus, can_move, upstream_status
from kling_gateway.services import task_sync
from kling_gateway.storage import channels as channel_store
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.db import releasing_connection
from kling_gateway.storage.records import TaskRow
from kling_gateway.upstream.errors import UpstreamError
from kling_gateway.worker import deadlines
from kling_gateway.worker.context import SyncContext

log = logging.getLogger(__name__)
_RUNNING = (TaskStatus.SUBMITTED, TaskStatus.PROCESSING)
Groups = dict[tuple[int, str], list[TaskRow]]
"""Tasks by channel and family."""


@dataclass
class Walk:
    """What one walk of the list found, so far."""

    seen: set[str] = field(default_factory=set)
    unchanged: list[TaskRow] = field(default_factory=list)
    """Their state stays: only the poll is recorded."""
    settled: list[TaskRow] = field(default_factory=list)
    """Moved by the state machine (``applying``) or failed for their age."""
    applying: list[Future[None]] = field(default_factory=list)


class ListReader:
    def __init__(self, sync: SyncContext) -> None:
        self.sync = sync
        self.policy = sync.policy

    def groups(self, claimed: list[TaskRow]) -> Groups:
        """Running tasks by channel and family, the groups large enough to read from the list."""
        return {key: group for key, group in by_channel_and_family(claimed).items()
                if len(group) >= self.policy.list_from}

    def claim_groups(self, claimed: list[TaskRow], now: int) -> list[TaskRow]:
        """When a group is read from the list anyway, every due task of that channel and
        family comes along: one walk of the list per pass instead of one per batch."""
        most = self.policy.list_page_size * self.policy.list_max_pages
        more: list[TaskRow] = []
        for (channel_id, family), group in self.groups(claimed).items():
            if len(group) < most:
                more += task_store.claim_due_running(
                    self.sync.owner, now, most - len(group), self.policy.lease_ms,
                    channel_id=channel_id, family=family,
                    due_by=now + self.policy.list_ahead_ms)
        return more

    def poll(self, claimed: list[TaskRow]) -> set[str]:
        """Read large groups of running tasks page by page; answers the ids it handled."""
        handled: set[str] = set()
        for (channel_id, family), group in self.groups(claimed).items():
            handled |= self.walk(channel_id, family, group).seen
        return handled

    def walk(self, channel_id: int, family: str, group: list[TaskRow], *,
             scheduled: bool = True) -> Walk:
        """Read the channel's list of ``family`` until every task of ``group`` was seen; a task
        whose state moved goes through ``apply_upstream`` (the state machine) on the pool while
        the next pages are read; for the rest, which are most of them, only the bookkeeping of
        a poll is written, in a few statements for all (not ``scheduled``: a look the poll
        schedule did not ask for, on tasks that may be leased; see ``_note_read``). Answers
        what the walk found."""
        walk = Walk()
        self._read_pages(channel_id, family, group, walk)
        wait_for(walk.applying)
        if scheduled:
            self._release(walk.unchanged, synced_at=now_ms())
            self._release(walk.settled)
        else:
            self._note_read(walk.unchanged)
        return walk

    def _read_pages(self, channel_id: int, family: str, group: list[TaskRow],
                    walk: Walk) -> None:
        wanted = {task.upstream_task_id: task for task in group}
        channel = channel_store.channel_by_id(channel_id)
        client = self.sync.upstreams.client_for(channel)
        path = families.named(family).path
        # Kling lists newest first, finished tasks too, and the claimed tasks may be the
        # oldest in flight: read until every one was seen, or the list is older than any of
        # them, or it ends (bounded).
        oldest = min(task.created_at for task in group) - self.policy.list_slack_ms
        for page in range(1, self.policy.list_max_pages + 1):
            try:
                with self.sync.gate.slot(channel_id):
                    rows = client.get(path, {"pageNum": page,
                                             "pageSize": self.policy.list_page_size}) or []
            except UpstreamError as failure:
                self.sync.upstreams.take_out_if_broken(channel, failure)
                log.info("listing %s on channel %s failed: %s", family, channel_id, failure)
                break
            for row in rows:
                task = wanted.get(str(row.get("task_id")))
                if task is not None and task.id not in walk.seen:
                    self._take(walk, task, row)
            if (len(walk.seen) == len(group) or len(rows) < self.policy.list_page_size
                    or _created_before(rows[-1], oldest)):
                break

    def _take(self, walk: Walk, task: TaskRow, row: dict[str, Any]) -> None:
        walk.seen.add(task.id)
        if _moves(task, row):
            walk.applying.append(self.sync.pool.submit(_apply_and_log, task, row))
            walk.settled.append(task)
        elif deadlines.expire(self.sync.settings, task, TaskStatus(task.status), now_ms()):
            walk.settled.append(task)
        else:
            walk.unchanged.append(task)

    def _release(self, polled: list[TaskRow], *, synced_at: int | None = None) -> None:
        """Hand back polled tasks, each due again after its backoff."""
        start = now_ms() if synced_at is None else synced_at
        for wait, task_ids in self._by_wait(polled).items():
            task_store.release_many(task_ids, self.sync.owner, start + wait,
                                    synced_at=synced_at)

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


def _moves(task: TaskRow, row: dict[str, Any]) -> bool:
    """Whether the listed state moves the task. States only move forward, so a state the
    task could not move to from the one claimed is no move either (the state machine
    would refuse it)."""
    status = upstream_status(row.get("task_status"))
    return status is not None and can_move(TaskStatus(task.status), status)


@releasing_connection
def _apply_and_log(task: TaskRow, row: dict[str, Any]) -> None:
    try:
        task_sync.apply_upstream(task.id, row)
    except Exception:  # one broken task must not stop the others; it is retried later
        log.exception("sync of task %s failed", task.id)


def by_channel_and_family(claimed: list[TaskRow]) -> Groups:
    """The running tasks among ``claimed`` that Kling's task lists can answer for, by channel
    and family."""
    groups: Groups = {}
    for task in claimed:
        if task.upstream_task_id and task.channel_id and task.status in _RUNNING:
            groups.setdefault((task.channel_id, task.family), []).append(task)
    return groups


def _created_before(row: dict[str, Any], moment_ms: int) -> bool:
    created = row.get("created_at")
    return isinstance(created, int) and created < moment_ms
