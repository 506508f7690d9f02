"""Named task queries: tenant-scoped reads and compare-and-set writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from peewee import IntegrityError, ModelSelect, ModelUpdate, fn

from kling_gateway.domain.errors import InvalidParameter
from kling_gateway.domain.tasks import TaskStatus
from kling_gateway.storage.db import (
    commit_without_waiting_for_disk,
    is_postgres,
    write_transaction,
)
from kling_gateway.storage.errors import RowMissing
from kling_gateway.storage.models import Channel, Task
from kling_gateway.storage.prepared import PreparedInsert, PreparedQuery
from kling_gateway.storage.records import ChannelRecord

READ_COLUMNS = tuple(field for field in Task._meta.sorted_fields
                     if field is not Task.request_body)
"""What answering about a task, moving it and polling it read: every column but the request
body, which can hold megabytes of Base64 images and is needed only to send the task upstream
(``request_body_of``). A task read with these columns has no ``request_body``."""
_INSERT = PreparedInsert(Task, returning=READ_COLUMNS)


def insert(**fields: Any) -> Task:
    """A new task; a second task with the same ``external_task_id`` for the user is 1201.
    Call it in the submit's transaction: the error undoes the whole submit, so no savepoint."""
    try:
        return _INSERT(**fields)
    except IntegrityError as exc:
        raise InvalidParameter(
            f"invalid parameter 'external_task_id': '{fields.get('external_task_id')}' is "
            "already used by another of your tasks") from exc


def _by_id(user_id: Any, family: Any, task_id: Any) -> ModelSelect:
    return Task.select(*READ_COLUMNS).where(
        (Task.id == task_id) & (Task.user == user_id) & (Task.family == family))


def _by_external_id(user_id: Any, family: Any, external_task_id: Any) -> ModelSelect:
    return Task.select(*READ_COLUMNS).where(
        (Task.user == user_id) & (Task.family == family)
        & (Task.external_task_id == external_task_id))


def _newest_first(table: Any) -> tuple[Any, ...]:
    """The order of a task list (of ``Task`` or an alias of it), the listing index's own."""
    return table.created_at.desc(), table.id.desc()


def _first_page(user_id: Any, family: Any, size: Any) -> ModelSelect:
    return (Task.select(*READ_COLUMNS).where((Task.user == user_id) & (Task.family == family))
            .order_by(*_newest_first(Task)).limit(size))


def _later_page(user_id: Any, family: Any, size: Any, skip: Any) -> ModelSelect:
    listed = Task.alias("listed")  # selects only columns of the listing index
    ids = (listed.select(listed.id)
           .where((listed.user == user_id) & (listed.family == family))
           .order_by(*_newest_first(listed))
           .limit(size).offset(skip))
    return Task.select(*READ_COLUMNS).where(Task.id.in_(ids)).order_by(*_newest_first(Task))


# Each is one index lookup; the gateway's id is tried first, so it wins over an equal
# external id. (One statement with OR made PostgreSQL filter all the user's tasks instead.)
_OWN_BY_ID = PreparedQuery(Task, _by_id)
_OWN_BY_EXTERNAL_ID = PreparedQuery(Task, _by_external_id)
_FIRST_PAGE = PreparedQuery(Task, _first_page)
_LATER_PAGE = PreparedQuery(Task, _later_page)


def find_own(user_id: int, family: str, task_or_external_id: str) -> Task | None:
    """The user's task of ``family`` by gateway id or the user's own external id."""
    return (_OWN_BY_ID.first(user_id, family, task_or_external_id)
            or _OWN_BY_EXTERNAL_ID.first(user_id, family, task_or_external_id))


def page_own(user_id: int, family: str, page_num: int, page_size: int) -> list[Task]:
    """The user's tasks of ``family``, newest first, page ``page_num`` (from 1).

    Past the first page the OFFSET walks only the index ``(user_id, family, created_at, id)``
    (an index-only scan: on PostgreSQL it visits the table only for pages VACUUM has not yet
    marked all-visible), and just the page's rows are then read in full. Skipping whole rows
    instead costs a row fetch for every skipped task: 499,500 of them on page 1000 x 500."""
    if page_num == 1:  # nothing to skip: the plain query reads exactly the page's rows
        return _FIRST_PAGE.rows(user_id, family, page_size)
    return _LATER_PAGE.rows(user_id, family, page_size, (page_num - 1) * page_size)


_STATUS = PreparedQuery(Task, lambda task_id: (
    Task.select(Task.status).where(Task.id == task_id)))
_TASK = PreparedQuery(Task, lambda task_id: Task.select(*READ_COLUMNS).where(Task.id == task_id))
_BODY = PreparedQuery(Task, lambda task_id: (
    Task.select(Task.request_body).where(Task.id == task_id)))
_MOVES: dict[tuple[str, ...], PreparedQuery[Task]] = {}
"""One prepared compare-and-set per set of changed columns (a handful: one per call site)."""


def get(task_id: str) -> Task:
    """The task (``READ_COLUMNS``); RowMissing for no such task."""
    return _found(_TASK, task_id)


def find(task_id: str) -> Task | None:
    """The task (``READ_COLUMNS``), or None."""
    return _TASK.first(task_id)


def exists(task_id: str) -> bool:
    return Task.select().where(Task.id == task_id).exists()


def request_body_of(task_id: str) -> dict[str, Any]:
    """The create body as the client sent it, for sending the task upstream."""
    return _found(_BODY, task_id).request_body


def status_of(task_id: str) -> str:
    """The task's status alone (not its bodies and results); RowMissing for no such task."""
    return _found(_STATUS, task_id).status


def _found(query: PreparedQuery[Task], task_id: str) -> Task:
    found = query.first(task_id)
    if found is None:
        raise RowMissing(f"no task {task_id}")
    return found


def compare_and_set(task_id: str, expected: TaskStatus, **changes: Any) -> Task | None:
    """Apply ``changes`` only if the task is still in ``expected`` and answer the task as it
    now is; the loser of a race gets None and changes nothing."""
    names = tuple(changes)
    move = _MOVES.get(names)
    if move is None:
        move = _MOVES[names] = PreparedQuery(Task, partial(_move, names), arity=len(names) + 2)
    values = [Task._meta.fields[name].db_value(changes[name]) for name in names]
    return move.first(task_id, Task.status.db_value(expected), *values)  # the row, same trip


def _move(names: tuple[str, ...], task_id: Any, expected: Any, *values: Any) -> ModelUpdate:
    changes = {Task._meta.fields[name]: value for name, value in zip(names, values, strict=True)}
    return (Task.update(changes).where((Task.id == task_id) & (Task.status == expected))
            .returning(*READ_COLUMNS))


def touch(task_id: str, synced_at: int, **changes: Any) -> None:
    """Record that the upstream was read at ``synced_at`` (and e.g. its task id), without a
    state change."""
    Task.update(synced_at=synced_at, **changes).where(Task.id == task_id).execute()


IN_FLIGHT = (TaskStatus.SUBMITTING, TaskStatus.SUBMITTED, TaskStatus.PROCESSING)
_RUNNING = (TaskStatus.SUBMITTED, TaskStatus.PROCESSING)
UNFINISHED = tuple(status.value for status in TaskStatus if not status.is_final)


def count_unfinished_of_token(token_id: int) -> int:
    """The token's tasks not yet succeeded or failed (queued and submitting ones too)."""
    return (Task.select()
            .where((Task.token == token_id) & Task.status.in_(list(UNFINISHED)))
            .count())


def count_unfinished_by_status() -> dict[str, int]:
    """How many tasks are in each unfinished state (a state with none is left out)."""
    rows = (Task.select(Task.status, fn.COUNT(Task.id))
            .where(Task.status.in_(list(UNFINISHED)))
            .group_by(Task.status).tuples())
    return {status: count for status, count in rows}


def count_in_flight(channel_id: int, *, besides: str | None = None) -> int:
    """Tasks holding one of the channel's slots (sent or being sent, not final), but for the
    task ``besides``."""
    query = Task.select(Task.id).where((Task.channel == channel_id)
                                       & Task.status.in_(IN_FLIGHT))
    if besides is not None:
        query = query.where(Task.id != besides)
    return query.count()


def take_slot(task_id: str, channel: ChannelRecord, slots: int, *,
              behind_queue: bool) -> bool:
    """Record ``channel`` on the task if it has a free slot: fewer than ``slots`` tasks in
    flight on it besides this one and (``behind_queue``) no queued task it would take, since
    those go first. One taker at a time per channel (SQLite's write lock; on PostgreSQL the
    channel's row), so two never both take its last slot."""
    with write_transaction():
        if is_postgres():
            Channel.select(Channel.id).where(Channel.id == channel.id).for_update().first()
        if count_in_flight(channel.id, besides=task_id) >= slots:
            return False
        if behind_queue and _queued_for(channel):
            return False
        Task.update(channel=channel.id).where(Task.id == task_id).execute()
    return True


def _queued_for(channel: ChannelRecord) -> bool:
    queued = Task.select(Task.id).where(Task.status == TaskStatus.QUEUED)
    if channel.allowed_models:
        queued = queued.where(Task.model_name.in_(list(channel.allowed_models))
                              | Task.model_name.is_null())
    return queued.exists()


def claim_due(owner: str, now: int, limit: int, lease_ms: int) -> list[Task]:
    """Lease up to ``limit`` in-flight tasks whose next look is due, most overdue first. On
    PostgreSQL rows another worker is claiming are skipped (``FOR UPDATE SKIP LOCKED``); on
    SQLite the write lock taken up front serialises claimers."""
    return _lease(Task.status.in_(IN_FLIGHT), (Task.next_poll_at, Task.id), owner, now, limit,
                  lease_ms)


def queue_head() -> Task | None:
    """The oldest queued task, leased or not: the next to go when a slot frees."""
    return (Task.select(*READ_COLUMNS).where(Task.status == TaskStatus.QUEUED)
            .order_by(Task.created_at, Task.id).first())


def claim_queue_head(owner: str, now: int, limit: int, lease_ms: int) -> list[Task]:
    """Lease the oldest queued tasks, up to ``limit``, from the head of the line to the first
    one another worker holds; none while another worker holds the head. So only one worker
    sends from the queue at a time: two would overtake each other, and race for the last free
    slot of a channel."""
    query = (Task.select(Task.id, Task.lease_owner, Task.lease_until)
             .where(Task.status == TaskStatus.QUEUED)
             .order_by(Task.created_at, Task.id).limit(limit))
    with write_transaction():
        if is_postgres():  # a concurrent claimer waits for these leases, then sees them
            query = query.for_update()
        ids = []
        for row in query:
            if row.lease_owner not in (None, owner) and (row.lease_until or 0) >= now:
                break
            ids.append(row.id)
        for chunk in _chunks(ids):
            (Task.update(lease_owner=owner, lease_until=now + lease_ms)
             .where(Task.id.in_(chunk)).execute())
    return _read_in_order(ids)


def running_on(channel_ids: list[int], read_before: int, limit: int) -> list[Task]:
    """Tasks Kling runs for the gateway on ``channel_ids`` that were not read from upstream
    since ``read_before``, leased or not, whenever their next poll is due."""
    return list(Task.select(*READ_COLUMNS).where(
        Task.status.in_(_RUNNING) & Task.channel.in_(channel_ids)
        & Task.upstream_task_id.is_null(False)
        & (Task.synced_at.is_null() | (Task.synced_at < read_before)))
        .order_by(Task.synced_at, Task.id).limit(limit))


def claim_due_running(owner: str, now: int, limit: int, lease_ms: int, *, channel_id: int,
                      family: str, due_by: int | None = None) -> list[Task]:
    """Like ``claim_due``, only the tasks Kling runs for the gateway on one channel in one
    family (the ones its task list can answer for), due by ``due_by`` (default: now)."""
    running = (Task.status.in_(_RUNNING) & (Task.channel == channel_id) & (Task.family == family)
               & Task.upstream_task_id.is_null(False))
    return _lease(running, (Task.next_poll_at, Task.id), owner, now, limit, lease_ms,
                  due_by=due_by)


def _lease(which: Any, order: tuple[Any, ...], owner: str, now: int, limit: int,
           lease_ms: int, *, due_by: int | None = None) -> list[Task]:
    due = (which & (Task.next_poll_at <= (now if due_by is None else due_by))
           & (Task.lease_until.is_null() | (Task.lease_until < now)))
    query = Task.select(Task.id).where(due).order_by(*order)
    with write_transaction():
        if is_postgres():
            query = query.for_update("FOR UPDATE SKIP LOCKED")
        ids = [row.id for row in query.limit(limit)]
        for chunk in _chunks(ids):
            (Task.update(lease_owner=owner, lease_until=now + lease_ms)
             .where(Task.id.in_(chunk)).execute())
    return _read_in_order(ids)


def _read_in_order(ids: list[str]) -> list[Task]:
    by_id = {task.id: task for chunk in _chunks(ids)
             for task in Task.select(*READ_COLUMNS).where(Task.id.in_(chunk))}
    return [by_id[task_id] for task_id in ids]


_CHUNK = 500
"""Ids per ``IN (...)``: SQLite allows 999 variables in a statement on older builds."""


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[start:start + _CHUNK] for start in range(0, len(ids), _CHUNK)]


def release(task_id: str, owner: str, next_poll_at: int, *, count_poll: bool = True) -> None:
    """Give the lease back and say when to look again (a final task is never looked at)."""
    release_many([task_id], owner, next_poll_at, count_poll=count_poll)


def release_many(task_ids: list[str], owner: str, next_poll_at: int, *,
                 count_poll: bool = True, synced_at: int | None = None) -> None:
    """``release`` for many tasks at once; ``synced_at`` also records that the upstream was
    read and nothing changed."""
    synced = {} if synced_at is None else {"synced_at": synced_at}
    with _redoable_write():
        for chunk in _chunks(task_ids):
            (Task.update(lease_owner=None, lease_until=None, next_poll_at=next_poll_at,
                         poll_count=Task.poll_count + (1 if count_poll else 0), **synced)
             .where(Task.id.in_(chunk) & (Task.lease_owner == owner)).execute())


def note_read(task_ids: list[str], synced_at: int, next_poll_at: int) -> None:
    """Record that the upstream was read and nothing changed, and put the next poll off to
    ``next_poll_at``, leaving leases and the poll count as they are (a look the schedule did
    not ask for: it needs no poll soon after, and is no reason to poll less often)."""
    with _redoable_write():
        for chunk in _chunks(task_ids):
            (Task.update(synced_at=synced_at, next_poll_at=next_poll_at)
             .where(Task.id.in_(chunk)).execute())


@contextmanager
def _redoable_write() -> Iterator[None]:
    """Handing a lease back need not wait for the disk: were it lost, the lease would run
    out and the task be looked at again, which is all a release decides."""
    with write_transaction():
        commit_without_waiting_for_disk()
        yield


def release_all(owner: str) -> int:
    """A stopping worker gives back every lease it still holds, so others need not wait for
    them to expire."""
    return (Task.update(lease_owner=None, lease_until=None)
            .where(Task.lease_owner == owner).execute())
