"""Polling the tasks in flight: claim the due ones (with a lease, so several workers never
handle the same task at once), read large groups from Kling's lists (``lists``) and the rest
one by one (``reconcile``), spread over the thread pool with a cap per channel. Polling backs
off from a couple of seconds to a ceiling (``SyncPolicy.next_poll_in``)."""

from __future__ import annotations

import logging

from kling_gateway.domain.clock import now_ms
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.db import release_connection
from kling_gateway.storage.records import TaskRow
from kling_gateway.worker import channel_checks, reconcile
from kling_gateway.worker.context import SyncContext
from kling_gateway.worker.lists import ListReader

log = logging.getLogger(__name__)


class Poller:
    def __init__(self, sync: SyncContext, lists: ListReader) -> None:
        self.sync = sync
        self.lists = lists

    def poll_due(self, now: int) -> int:
        """Handle every in-flight task due by ``now``; returns how many."""
        sync = self.sync
        channel_checks.check_due(sync, now)  # first: a channel back takes queued tasks now
        claimed = task_store.claim_due(sync.owner, now, sync.policy.batch, sync.policy.lease_ms)
        claimed += self.lists.claim_groups(claimed, now)
        listed = self.lists.poll(claimed)
        # Each task hands its pooled connection back when done (no reconnect: the pool keeps
        # it open for the next one).
        list(sync.pool.map(self._handle_and_release,
                           [t for t in claimed if t.id not in listed]))
        return len(claimed)

    def _handle_and_release(self, task: TaskRow) -> None:
        wait = self.sync.policy.next_poll_in(task.poll_count)
        try:
            with self.sync.gate.slot(task.channel_id):
                reconcile.handle(self.sync, task)
        except Exception:  # one broken task must not stop the others; it is retried later
            log.exception("sync of task %s failed", task.id)
        finally:
            task_store.release(task.id, self.sync.owner, now_ms() + wait)
            release_connection()  # this pool thread's connection, back for the next task
