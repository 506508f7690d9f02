"""What operators and load balancers ask: is this instance ready, and the metrics scrape."""

from __future__ import annotations

import logging

from kling_gateway import metrics
from kling_gateway.domain.tasks import TaskStatus
from kling_gateway.storage import callbacks as callback_store
from kling_gateway.storage import channels as channel_store
from kling_gateway.storage import migrations
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.db import drop_connection, ping

log = logging.getLogger(__name__)
UNFINISHED = tuple(status for status in TaskStatus if not status.is_final)


def readiness() -> list[str]:
    """What keeps this instance from serving: empty when the database answers and every
    migration is applied."""
    try:
        ping()
        missing = migrations.pending()
    except Exception as exc:  # any driver error means "not ready", never a crash
        log.warning("readiness: database unreachable: %s", exc)
        drop_connection()  # a broken connection is reopened by the next probe
        return [f"database unreachable ({type(exc).__name__})"]
    if missing:
        return [f"database migrations pending: {', '.join(missing)}"]
    return []


def task_counts() -> tuple[dict[str, int], dict[str, int]]:
    """Unfinished tasks by state, and the depth of the task and callback queues."""
    by_state = {status.value: 0 for status in UNFINISHED}
    by_state.update(task_store.count_unfinished_by_status())
    return by_state, {"tasks": by_state[TaskStatus.QUEUED.value],
                      "callbacks": callback_store.count_pending()}


def scrape() -> tuple[bytes, str]:
    """The Prometheus text and its content type."""
    return (metrics.render([metrics.TaskGauges(task_counts),
                            metrics.ChannelGauges(channel_store.rotation)]),
            metrics.CONTENT_TYPE)
