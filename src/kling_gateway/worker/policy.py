"""How the worker paces its polls, leases and list walks: one ``SyncPolicy``, each timing
defined here once (or where the request path defines it, for the first poll and the lost-after
rule)."""

from __future__ import annotations

from dataclasses import dataclass

from kling_gateway.services.submit import FIRST_POLL_MS
from kling_gateway.services.task_sync import LOST_AFTER_MS


@dataclass(frozen=True)
class SyncPolicy:
    first_poll_ms: int = FIRST_POLL_MS
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
    lost_after_ms: int = LOST_AFTER_MS
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
