"""The gateway's queue drains on its own: queued tasks go oldest first as soon as a channel has
room, and while they wait for full channels, the tasks running there are read every
``queue_watch_ms`` whatever their poll schedule, so a slot that frees is used at once. Only
the worker holding the head of the line sends (``task_store.claim_queue_head``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.errors import KlingError
from kling_gateway.domain.tasks import TaskStatus
from kling_gateway.services import task_states, task_sync
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.records import TaskRow
from kling_gateway.upstream.channels import Upstreams
from kling_gateway.worker import deadlines
from kling_gateway.worker.context import SyncContext
from kling_gateway.worker.lists import ListReader, by_channel_and_family

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Drain:
    """What one look at the queue did."""

    moved: int
    """Queued tasks that left the queue: sent, or failed (refused upstream, waited too long)."""
    waiting: bool
    """Tasks still wait for a free slot."""


def dispatch_queued(upstreams: Upstreams, task: TaskRow, public_url: str | None) -> None:
    """Try a queued task again; while no channel has room for it, it stays queued untouched."""
    channels = upstreams.candidates(task.model_name)
    if not channels and upstreams.serves(task.model_name):
        return
    sending = task_states.advance(task.id, TaskStatus.SUBMITTING, believed=TaskStatus.QUEUED,
                                  channel=task_sync.first_on_record(upstreams, channels))
    if sending is None:
        return
    try:
        task_sync.send(upstreams, sending, task_store.request_body_of(task.id), channels,
                       public_url, behind_queue=False)
    except KlingError as refusal:
        log.info("queued task %s refused upstream: %s", task.id, refusal.message)


class QueueDrainer:
    def __init__(self, sync: SyncContext, lists: ListReader) -> None:
        self.sync = sync
        self.lists = lists

    def drain(self, now: int) -> Drain:
        """Send queued tasks oldest first while a channel has room for the head of the line.
        When it finds none, read the tasks running on the full channels it waits for, and go
        on if one of them ended."""
        moved, watched = 0, False
        while (head := task_store.queue_head()) is not None:
            if head.lease_owner not in (None, self.sync.owner) and (head.lease_until or 0) >= now:
                break  # another worker is sending from the queue
            if not (self._has_room_for(head) or deadlines.too_old(
                    self.sync.settings, head, TaskStatus.QUEUED, now_ms())):
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
        upstreams = self.sync.upstreams
        return (bool(upstreams.candidates(task.model_name))
                or not upstreams.serves(task.model_name))

    def _send_head(self, now: int) -> tuple[int, bool]:
        """Lease the head of the line and send it, oldest first, until one stays queued (no
        room after all); it and the rest keep their places. Answers how many left the queue
        and whether one stayed."""
        policy = self.sync.policy
        line = task_store.claim_queue_head(self.sync.owner, now, policy.queue_batch,
                                           policy.lease_ms)
        for index, task in enumerate(line):
            if not self._send_queued(task):
                task_store.release_many([t.id for t in line[index + 1:]], self.sync.owner, now,
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
            if not deadlines.expire(self.sync.settings, task, TaskStatus.QUEUED, now_ms()):
                dispatch_queued(self.sync.upstreams, task, self.sync.settings.public_url)
            left = task_store.status_of(task.id) != TaskStatus.QUEUED
        except Exception:  # one broken task must not stop the others; it is retried later
            log.exception("sending queued task %s failed", task.id)
        finally:
            wait = self.sync.policy.next_poll_in(task.poll_count) if left else 0
            task_store.release(task.id, self.sync.owner, now_ms() + wait, count_poll=False)
        return left

    def _watch(self, head: TaskRow, now: int) -> bool:
        """Read the tasks running on the full channels ``head`` waits for (those not read
        within ``queue_watch_ms``), whatever their poll schedule: whether the state of any of
        them moved (one that ended freed its slot). Leased ones too: a lease keeps two workers
        from polling one task, and this is one read of the list for all; a move it finds
        goes through the state machine, which lets only one of two readers apply it."""
        full = [channel.id for channel in self.sync.upstreams.full(head.model_name)]
        if not full:
            return False
        policy = self.sync.policy
        running = task_store.running_on(full, now - policy.queue_watch_ms,
                                        policy.list_page_size)
        moved = False
        for (channel_id, family), group in by_channel_and_family(running).items():
            moved |= bool(self.lists.walk(channel_id, family, group, scheduled=False).settled)
        return moved
