"""The background sync of one worker: each pass polls the tasks that are due (``poller``), then
sends what the queue can (``queue``)."""

from __future__ import annotations

from kling_gateway.config import Settings
from kling_gateway.domain.clock import now_ms
from kling_gateway.storage import tasks as task_store
from kling_gateway.upstream.channels import Upstreams
from kling_gateway.worker.context import SyncContext
from kling_gateway.worker.lists import ListReader
from kling_gateway.worker.policy import DEFAULT_POLICY, SyncPolicy
from kling_gateway.worker.poller import Poller
from kling_gateway.worker.queue import Drain, QueueDrainer


class Syncer:
    def __init__(self, settings: Settings, upstreams: Upstreams, owner: str,
                 policy: SyncPolicy = DEFAULT_POLICY) -> None:
        self.sync = SyncContext.start(settings, upstreams, owner, policy)
        lists = ListReader(self.sync)
        self._poller = Poller(self.sync, lists)
        self._queue = QueueDrainer(self.sync, lists)

    @property
    def owner(self) -> str:
        return self.sync.owner

    @property
    def policy(self) -> SyncPolicy:
        return self.sync.policy

    def run_once(self, now: int | None = None) -> int:
        """Handle every task due by ``now`` (default: now), then send what the queue can;
        returns how many tasks were handled (0: nothing was due and nothing could be sent)."""
        now = now_ms() if now is None else now
        return self.poll_due(now) + self.drain_queue(now).moved

    def poll_due(self, now: int | None = None) -> int:
        """Handle every in-flight task due by ``now`` (default: now); returns how many."""
        return self._poller.poll_due(now_ms() if now is None else now)

    def drain_queue(self, now: int | None = None) -> Drain:
        """Send queued tasks oldest first while a channel has room (``queue``)."""
        return self._queue.drain(now_ms() if now is None else now)

    def close(self) -> None:
        """Let the polls in flight finish, then hand back any lease still held."""
        self.sync.pool.shutdown(wait=True)
        task_store.release_all(self.owner)
