"""Named task queries: tenant-scoped reads and compare-and-set writes."""

from __future__ import annotations

from typing import Any

from peewee import IntegrityError

from kling_gateway.domain.errors import InvalidParameter
from kling_gateway.domain.ledger import EntryKind
from kling_gateway.domain.tasks import TaskStatus
from kling_gateway.storage.db import database, is_postgres, write_transaction
from kling_gateway.storage.models import LedgerEntry, Task, UpstreamVideo


def insert(**fields: Any) -> Task:
    """A new task; a second task with the same ``external_task_id`` for the user is 1201."""
    try:
        with database.atomic():
            return Task.create(**fields)
    except IntegrityError as exc:
        raise InvalidParameter(
            f"invalid parameter 'external_task_id': '{fields.get('external_task_id')}' is "
            "already used by another of your tasks") from exc


def find_own(user_id: int, family: str, task_or_external_id: str) -> Task | None:
    """The user's task of ``family`` by gateway id or the user's own external id."""
    by_id = (Task.select().where((Task.id == task_or_external_id) & (Task.user == user_id)
                                 & (Task.family == family)).first())
    if by_id is not None:
        return by_id
    return (Task.select().where((Task.user == user_id) & (Task.family == family)
                                & (Task.external_task_id == task_or_external_id)).first())


def page_own(user_id: int, family: str, page_num: int, page_size: int) -> list[Task]:
    return list(Task.select()
                .where((Task.user == user_id) & (Task.family == family))
                .order_by(Task.created_at.desc(), Task.id.desc())
                .paginate(page_num, page_size))


def compare_and_set(task_id: str, expected: TaskStatus, **changes: Any) -> bool:
    """Apply ``changes`` only if the task is still in ``expected``: the loser of a race sees
    False and changes nothing."""
    return bool(Task.update(**changes)
                .where((Task.id == task_id) & (Task.status == expected))
                .execute())


def charge_of(task_id: str) -> LedgerEntry | None:
    return (LedgerEntry.select()
            .where((LedgerEntry.task == task_id) & (LedgerEntry.kind == EntryKind.CHARGE))
            .first())


def remember_videos(task: Task, videos: list[dict[str, Any]]) -> None:
    """Record which channel made each video, so later requests naming it go there."""
    rows = [{"video_id": str(video["id"]), "user": task.user_id, "task": task.id,
             "channel": task.channel_id} for video in videos if video.get("id")]
    if rows:
        UpstreamVideo.insert_many(rows).on_conflict_ignore().execute()


IN_FLIGHT = (TaskStatus.SUBMITTING, TaskStatus.SUBMITTED, TaskStatus.PROCESSING)


def claim_due(owner: str, now: int, limit: int, lease_ms: int, *,
              queued: bool = False) -> list[Task]:
    """Lease up to ``limit`` tasks whose next look is due: in-flight ones most overdue first,
    or (``queued``) queued ones oldest first. On PostgreSQL rows another worker is claiming are
    skipped (``FOR UPDATE SKIP LOCKED``); on SQLite the write lock taken up front serialises
    claimers."""
    statuses = (TaskStatus.QUEUED,) if queued else IN_FLIGHT
    due = ((Task.status.in_(statuses)) & (Task.next_poll_at <= now)
           & (Task.lease_until.is_null() | (Task.lease_until < now)))
    order = (Task.created_at, Task.id) if queued else (Task.next_poll_at, Task.id)
    query = Task.select(Task.id).where(due).order_by(*order)
    with write_transaction():
        if is_postgres():
            query = query.for_update("FOR UPDATE SKIP LOCKED")
        ids = [row.id for row in query.limit(limit)]
        if ids:
            (Task.update(lease_owner=owner, lease_until=now + lease_ms)
             .where(Task.id.in_(ids)).execute())
    by_id = {task.id: task for task in Task.select().where(Task.id.in_(ids))} if ids else {}
    return [by_id[task_id] for task_id in ids]


def release(task_id: str, owner: str, next_poll_at: int, *, count_poll: bool = True) -> None:
    """Give the lease back and say when to look again (a final task is never looked at)."""
    (Task.update(lease_owner=None, lease_until=None, next_poll_at=next_poll_at,
                 poll_count=Task.poll_count + (1 if count_poll else 0))
     .where((Task.id == task_id) & (Task.lease_owner == owner)).execute())


def count_running(channel_id: int, family: str) -> int:
    """Tasks of ``family`` that Kling is running for the gateway on this channel."""
    return (Task.select()
            .where((Task.channel == channel_id) & (Task.family == family)
                   & Task.status.in_([TaskStatus.SUBMITTED, TaskStatus.PROCESSING]))
            .count())


def release_all(owner: str) -> int:
    """A stopping worker gives back every lease it still holds, so others need not wait for
    them to expire."""
    return (Task.update(lease_owner=None, lease_until=None)
            .where(Task.lease_owner == owner).execute())
