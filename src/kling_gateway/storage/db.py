"""The database handle: bound once at start-up from a URL, never at import time.

On PostgreSQL every process uses one bounded pool (peewee's ``PooledPostgresqlDatabase``). A
thread checks a connection out on its first query and keeps it until it calls
``release_connection``, which hands it back; every unit of work (an HTTP request, the
authentication in front of it, a worker pass) must end with that call, or the thread keeps the
connection and the pool runs dry. A connection is checked for life each time it is handed out,
so one that PostgreSQL dropped (a restart, ``pg_terminate_backend``, an idle limit) is replaced
instead of failing the next query. Every connection carries a statement and a lock timeout.

SQLite keeps one connection per thread for the thread's life, as before: opening one is cheap,
but each would re-apply the pragmas, and the file has no connection limit to protect.
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import wraps
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlparse

from peewee import Database, DatabaseProxy, OperationalError, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import connect, parse
from playhouse.pool import PooledDatabase, PooledPostgresqlDatabase
from psycopg2.extensions import TRANSACTION_STATUS_IDLE
from psycopg2.extensions import connection as PsycopgConnection

from kling_gateway.config import DatabaseLimits

database = DatabaseProxy()
"""Every model is bound to this proxy; ``open_database`` points it at a real database."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite connection waits for another's lock before it fails."""
SQLITE_PRAGMAS = {
    "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,  # wait for the write lock instead of failing at once
    "foreign_keys": 1,
    "synchronous": "normal",
}
"""Set on every connection. The WAL journal (readers do not block the writer) is a property of
the file instead, set once when the database is opened (``_use_wal``)."""
POSTGRES_SCHEMES = ("postgres", "postgresql", "postgres+pool", "postgresql+pool")
APPLICATION_NAME = "kling-gateway"
"""How the gateway's connections show in ``pg_stat_activity``, unless the URL names them."""

P = ParamSpec("P")
R = TypeVar("R")


def open_database(url: str, limits: DatabaseLimits | None = None) -> Database:
    """Connect ``database`` to ``sqlite:///file`` or ``postgresql://…`` and return it.

    ``limits`` (pool size, timeouts) apply to PostgreSQL; without them they are read from the
    environment, so every process started with the same variables behaves alike."""
    previous = database.obj
    if urlparse(url).scheme in POSTGRES_SCHEMES:
        db: Database = _postgres_pool(url, limits or DatabaseLimits.from_env())
    elif url.startswith("sqlite"):
        # RETURNING (SQLite 3.35+), as on PostgreSQL: a write answers its row in one statement.
        db = connect(url, pragmas=SQLITE_PRAGMAS, returning_clause=True)
        _use_wal(db)
    else:
        db = connect(url)
    database.initialize(db)
    if isinstance(previous, PooledDatabase):
        previous.close_idle()  # rebinding (tests do): the old pool's idle connections go now
    return db


def _use_wal(db: Database) -> None:
    """Put the SQLite file in WAL mode; it stays so, for every connection after this one.

    Two processes opening a new file at once (``serve`` and ``worker``, say) may both try to
    switch it. SQLite then answers "database is locked" at once instead of waiting out the
    busy timeout, so the switch is tried again until that timeout has passed."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute_sql("PRAGMA journal_mode = wal")
            return
        except OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


class GatewayPool(PooledPostgresqlDatabase):
    """peewee's pool, with a cheaper check of a connection it hands out.

    peewee sends ``SELECT 1`` each time (a round trip, ~0.2 ms, twice per request). But a
    server that ends a session (shutdown, ``pg_terminate_backend``, a crash elsewhere, an idle
    timeout) first sends the reason and closes the socket, so an idle connection with nothing
    to read is alive as far as a round trip could tell, and only a readable one needs
    peewee's full check."""

    def _is_closed(self, conn: PsycopgConnection) -> bool:
        if (not conn.closed and conn.info.transaction_status == TRANSACTION_STATUS_IDLE
                and not _has_input(conn)):
            return False
        return super()._is_closed(conn)


def _has_input(conn: PsycopgConnection) -> bool:
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    return bool(poller.poll(0))


def _postgres_pool(url: str, limits: DatabaseLimits) -> PooledPostgresqlDatabase:
    params: dict[str, Any] = parse(url)
    params.setdefault("application_name", APPLICATION_NAME)
    # Set at connection start (no round trip). The URL's own options come last and so win.
    timeouts = (f"-c statement_timeout={limits.statement_timeout_ms} "
                f"-c lock_timeout={limits.lock_timeout_ms}")
    params["options"] = f"{timeouts} {params.get('options') or ''}".strip()
    return GatewayPool(
        params.pop("database"),
        max_connections=limits.pool_size,
        # peewee reads 0 as "wait forever" and None as "fail at once"
        timeout=limits.pool_wait_seconds or None,
        stale_timeout=limits.pool_recycle_seconds or None,
        **params)


def is_postgres() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)


def ping() -> None:
    """One trivial query: raises the driver's error when the database does not answer."""
    database.execute_sql("SELECT 1")


def drop_connection() -> None:
    """Close this thread's connection, whatever state it is in (a broken one is reopened by
    the next query); never raises."""
    with suppress(Exception):
        database.close()


def release_connection() -> None:
    """End of a unit of work: hand this thread's PostgreSQL connection back to the pool (the
    next query checks one out again). A no-op on SQLite, whose threads keep their connection,
    and when the thread holds none."""
    db = database.obj
    if isinstance(db, PooledDatabase) and not db.is_closed():
        db.close()


def releasing_connection(function: Callable[P, R]) -> Callable[P, R]:
    """``function``, followed by ``release_connection`` however it ends: for work run on a
    shared thread pool (an HTTP hook, a worker task)."""
    @wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        finally:
            release_connection()
    return run


def close_database() -> None:
    """At shutdown, once no thread uses the database any more: close every connection (on
    PostgreSQL, the pool's idle and checked-out ones), so the server sees a clean goodbye."""
    db = database.obj
    if isinstance(db, PooledDatabase):
        db.close_all()
    elif db is not None:
        db.close()


def lift_timeouts_for_transaction() -> None:
    """Inside a transaction on PostgreSQL, lift the statement and lock timeouts until it ends
    (``SET LOCAL``). For migrations: they run once, behind an advisory lock that other starting
    processes wait on, and may rewrite or index large tables."""
    if is_postgres():
        database.execute_sql("SET LOCAL statement_timeout = 0")
        database.execute_sql("SET LOCAL lock_timeout = 0")


def commit_without_waiting_for_disk() -> None:
    """Inside a transaction on PostgreSQL, let its commit return before the WAL reaches the
    disk (``SET LOCAL synchronous_commit = off``, about 0.5 ms less). A crash of PostgreSQL may
    then lose the transaction whole, never half of it. Only for writes the gateway can redo
    from elsewhere; the setting ends with the transaction."""
    if is_postgres():
        database.execute_sql("SET LOCAL synchronous_commit = off")


@contextmanager
def write_transaction() -> Iterator[None]:
    """A transaction that writes. On SQLite it takes the write lock up front (``BEGIN
    IMMEDIATE``) so that two writers queue instead of failing when one upgrades its lock.
    Inside another transaction it is part of that one (no savepoint: an error undoes the
    whole, and a savepoint would cost two round trips); ``database.atomic()`` makes one where a
    part must be undone on its own."""
    db = database.obj
    if db.in_transaction():
        yield
    elif isinstance(db, SqliteDatabase):
        with db.atomic("IMMEDIATE"):
            yield
    else:
        with db.atomic():
            yield
