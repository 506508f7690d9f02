"""Leasing many due tasks of one channel at once and handing them back in bulk, on both
backends: more ids than one statement may carry, only the running tasks of that channel and
family, due ones first."""

from __future__ import annotations

import pytest

from kling_gateway.services import accounts, channels
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.models import Task

T2V = "text2video"
MANY = 1_200
"""More than one ``IN (...)`` chunk."""


@pytest.fixture
def running(db) -> int:
    """MANY running tasks on one channel, due at 1..MANY, and some that must never be leased:
    another family, another channel, a finished one, one without an upstream id."""
    user = accounts.create_user("ada").id
    ours = channels.add_channel("ours", access_key="ak1", secret_key="sk1-0123456789abcdef").id
    other = channels.add_channel("other", access_key="ak2", secret_key="sk2-0123456789abcde").id

    def row(index: int, **changes: object) -> dict[str, object]:
        return {"id": f"t{index:05d}", "user": user, "channel": ours, "family": T2V,
                "price_key": "p", "status": "processing", "request_body": {},
                "upstream_task_id": f"u{index}", "created_at": 1, "updated_at": 1,
                "next_poll_at": index + 1, "poll_count": 3, **changes}

    rows = [row(index) for index in reversed(range(MANY))]
    rows += [row(MANY, family="image2video"), row(MANY + 1, channel=other),
             row(MANY + 2, status="succeed"), row(MANY + 3, upstream_task_id=None)]
    for start in range(0, len(rows), 500):
        Task.insert_many(rows[start:start + 500]).execute()
    return ours


def test_claims_every_due_running_task_of_the_channel_most_overdue_first(running):
    claimed = task_store.claim_due_running("w", MANY + 10, 10_000, 60_000, channel_id=running,
                                           family=T2V)

    assert [task.id for task in claimed] == [f"t{index:05d}" for index in range(MANY)]
    assert Task.select().where(Task.lease_owner == "w").count() == MANY


def test_tasks_due_by_a_later_moment_come_along_and_leased_ones_do_not(running):
    task_store.claim_due_running("first", 10, 10_000, 60_000, channel_id=running, family=T2V)
    later = task_store.claim_due_running("second", 10, 10_000, 60_000, channel_id=running,
                                         family=T2V, due_by=100)

    assert [task.id for task in later] == [f"t{index:05d}" for index in range(10, 100)]


def test_release_many_counts_the_poll_and_hands_the_lease_back(running):
    claimed = task_store.claim_due_running("w", MANY + 10, 10_000, 60_000, channel_id=running,
                                           family=T2V)
    task_store.release_many([task.id for task in claimed] + ["t99999"], "w", 5_000,
                            synced_at=4_000)
    task_store.release_many([claimed[0].id], "someone-else", 9_000)  # not theirs: no change

    for task in Task.select().where(Task.id.in_([t.id for t in claimed[:3]] + ["t01199"])):
        assert (task.lease_owner, task.lease_until) == (None, None)
        assert (task.next_poll_at, task.synced_at, task.poll_count) == (5_000, 4_000, 4)
