"""PostgreSQL through a bounded pool: limits from the environment, timeouts on every connection,
connections handed back after each unit of work and replaced when the server drops them."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager

import psycopg2
import pytest
from peewee import OperationalError, SqliteDatabase
from playhouse.pool import MaxConnectionsExceeded, PooledPostgresqlDatabase

from kling_gateway.config import DatabaseLimits, Settings
from kling_gateway.storage.db import (
    APPLICATION_NAME,
    SQLITE_BUSY_TIMEOUT_MS,
    close_database,
    commit_without_waiting_for_disk,
    database,
    lift_timeouts_for_transaction,
    open_database,
    release_connection,
    write_transaction,
)
from kling_gateway.storage.migrations import migrate
from kling_gateway.storage.models import User
from tests.support.databases import postgres_schema

# ---- limits from the environment ------------------------------------------------------------


def test_limits_default_when_unset():
    assert Settings.from_env({}).database_limits == DatabaseLimits()
    assert DatabaseLimits() == DatabaseLimits(pool_size=20, pool_wait_seconds=10.0,
                                              pool_recycle_seconds=300.0,
                                              statement_timeout_ms=30_000, lock_timeout_ms=10_000)


def test_limits_are_read_from_the_environment_and_zero_switches_a_timeout_off():
    limits = DatabaseLimits.from_env({
        "KLING_GATEWAY_DATABASE_POOL_SIZE": "7",
        "KLING_GATEWAY_DATABASE_POOL_WAIT_SECONDS": "2.5",
        "KLING_GATEWAY_DATABASE_POOL_RECYCLE_SECONDS": "0",
        "KLING_GATEWAY_STATEMENT_TIMEOUT_MS": "0",
        "KLING_GATEWAY_LOCK_TIMEOUT_MS": "1500",
    })
    assert limits == DatabaseLimits(pool_size=7, pool_wait_seconds=2.5, pool_recycle_seconds=0,
                                    statement_timeout_ms=0, lock_timeout_ms=1500)


@pytest.mark.parametrize("variable, value", [("KLING_GATEWAY_DATABASE_POOL_SIZE", "0"),
                                             ("KLING_GATEWAY_STATEMENT_TIMEOUT_MS", "-1")])
def test_impossible_limits_are_refused_at_start_up(variable, value):
    with pytest.raises(ValueError):
        DatabaseLimits.from_env({variable: value})


# ---- the pool -------------------------------------------------------------------------------


@pytest.fixture
def schema_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


def migrate_without_timeouts() -> None:
    """``migrate`` in a transaction free of the statement and lock timeouts: the tests' short
    ones would cancel it while it waits for another test's migrations (one advisory lock for
    the whole database). Once ``migrate`` lifts them itself this is plain ``migrate``."""
    with database.atomic():
        lift_timeouts_for_transaction()
        migrate()  # its own transaction is a savepoint of this one


def open_pool(url: str, **limits: float) -> tuple[PooledPostgresqlDatabase, str]:
    """A migrated pool whose connections carry a name of their own in ``pg_stat_activity``."""
    name = f"pool-test-{uuid.uuid4().hex[:10]}"
    db = open_database(f"{url}&application_name={name}", DatabaseLimits(**limits))
    migrate_without_timeouts()
    release_connection()
    assert isinstance(db, PooledPostgresqlDatabase)
    return db, name


def setting(name: str) -> str:
    return database.execute_sql(f"SHOW {name}").fetchone()[0]


def backend_pid() -> int:
    return database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


@contextmanager
def admin_session(url: str, *, autocommit: bool = True) -> Iterator[psycopg2.extensions.cursor]:
    """A session of the test's own, outside the gateway's pool."""
    with closing(psycopg2.connect(url)) as admin:
        admin.autocommit = autocommit
        yield admin.cursor()


def backends(url: str, application_name: str) -> list[int]:
    with admin_session(url) as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                       (application_name,))
        return [pid for (pid,) in cursor.fetchall()]


def test_every_connection_carries_the_timeouts_and_keeps_the_urls_own_options(schema_url):
    open_pool(schema_url, statement_timeout_ms=1234, lock_timeout_ms=567)
    try:
        assert setting("statement_timeout") == "1234ms"
        assert setting("lock_timeout") == "567ms"
        assert setting("search_path").startswith("t_")  # the test URL's own -c option
    finally:
        close_database()


def test_connections_are_named_after_the_gateway_unless_the_url_names_them(schema_url):
    open_database(schema_url, DatabaseLimits())
    try:
        assert setting("application_name") == APPLICATION_NAME
    finally:
        close_database()


def test_a_released_connection_is_reused_not_reopened(schema_url):
    db, _ = open_pool(schema_url)
    try:
        first = backend_pid()
        release_connection()
        assert db.is_closed()  # this thread holds none now ...
        assert backend_pid() == first  # ... and the next query gets the same one back
    finally:
        close_database()


def test_the_pool_is_bounded_and_a_released_connection_serves_the_next_thread(schema_url):
    open_pool(schema_url, pool_size=2, pool_wait_seconds=0)
    holding, done = threading.Barrier(3), threading.Event()

    def hold_one() -> int:
        pid = backend_pid()
        holding.wait()
        done.wait()
        release_connection()
        return pid

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            held = [pool.submit(hold_one) for _ in range(2)]
            holding.wait()  # both connections are checked out
            with pytest.raises(MaxConnectionsExceeded):
                backend_pid()
            done.set()
            pids = {future.result() for future in held}
        assert backend_pid() in pids  # handed back, then reused by this thread
    finally:
        close_database()


def test_a_waiting_thread_gets_the_connection_another_hands_back(schema_url):
    open_pool(schema_url, pool_size=1, pool_wait_seconds=30)
    owner_pid = backend_pid()  # this thread holds the only connection
    got: list[int] = []
    waiter = threading.Thread(target=lambda: got.append(backend_pid()))
    try:
        waiter.start()
        release_connection()
        waiter.join(timeout=30)
        assert got == [owner_pid]
    finally:
        close_database()


def test_a_connection_the_server_dropped_is_replaced(schema_url):
    _, name = open_pool(schema_url)
    try:
        dropped = backend_pid()
        release_connection()
        terminate(schema_url, name)
        assert backend_pid() != dropped
        assert User.select().count() == 0
    finally:
        close_database()


def terminate(url: str, application_name: str) -> None:
    """``pg_terminate_backend`` every connection of ``application_name``; returns once the
    server has removed them."""
    with admin_session(url) as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE application_name = %s", (application_name,))
    deadline = time.monotonic() + 30
    while backends(url, application_name):
        assert time.monotonic() < deadline, "the server did not drop the connections"
        time.sleep(0.05)


# ---- timeouts -------------------------------------------------------------------------------


@pytest.mark.parametrize("limits, reason", [
    ({"statement_timeout_ms": 200, "lock_timeout_ms": 0}, "statement timeout"),
    ({"statement_timeout_ms": 60_000, "lock_timeout_ms": 200}, "lock timeout"),
], ids=["statement", "lock"])
def test_a_statement_stuck_behind_a_lock_is_cancelled(schema_url, limits, reason):
    open_pool(schema_url, **limits)
    try:
        with table_locked(schema_url, "users"), pytest.raises(OperationalError, match=reason):
            User.select().count()
        assert User.select().count() == 0  # the connection is still good
    finally:
        close_database()


def test_a_migration_transaction_may_outlast_the_timeouts(schema_url):
    open_pool(schema_url, statement_timeout_ms=200, lock_timeout_ms=100)
    try:
        with database.atomic():
            lift_timeouts_for_transaction()
            assert (setting("statement_timeout"), setting("lock_timeout")) == ("0", "0")
            database.execute_sql("SELECT pg_sleep(0.3)")  # longer than the statement timeout
        assert (setting("statement_timeout"), setting("lock_timeout")) == ("200ms", "100ms")
    finally:
        close_database()


def test_a_commit_may_skip_the_wait_for_the_disk_for_its_own_transaction_only(schema_url):
    open_pool(schema_url)
    try:
        with write_transaction():
            commit_without_waiting_for_disk()
            assert setting("synchronous_commit") == "off"
        with write_transaction():  # the next one, e.g. a charge, waits for the disk again
            assert setting("synchronous_commit") == "on"
    finally:
        close_database()


@contextmanager
def table_locked(url: str, table: str) -> Iterator[None]:
    """Another session holds ``ACCESS EXCLUSIVE`` on ``table`` while the block runs (its
    transaction ends with the session)."""
    with admin_session(url, autocommit=False) as cursor:
        cursor.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        yield


# ---- SQLite ------------------------------------------------------------------------------------


def test_sqlite_threads_keep_their_connection(tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
    migrate()
    try:
        release_connection()
        assert not db.is_closed()
    finally:
        close_database()


def pragma(name: str) -> str | int:
    return database.execute_sql(f"PRAGMA {name}").fetchone()[0]


def test_every_sqlite_connection_uses_wal_and_waits_for_locks(tmp_path):
    open_database(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
    try:
        seen: list[tuple[str, int]] = []

        def read_settings() -> None:  # a thread opens a connection of its own
            seen.append((pragma("journal_mode"), pragma("busy_timeout")))
            database.close()

        thread = threading.Thread(target=read_settings)
        thread.start()
        thread.join()
        assert seen == [("wal", SQLITE_BUSY_TIMEOUT_MS)]
    finally:
        close_database()


def test_switching_a_new_sqlite_file_to_wal_retries_while_another_process_holds_it(
        tmp_path, monkeypatch):
    """Two processes opening a new file at once: SQLite answers "locked" at once, not after
    its busy timeout, to the one that loses the race to switch the journal."""
    attempts: list[str] = []
    original = SqliteDatabase.execute_sql

    def locked_twice(self, sql, *args, **kwargs):
        if sql.startswith("PRAGMA journal_mode"):
            attempts.append(sql)
            if len(attempts) <= 2:
                raise OperationalError("database is locked")
        return original(self, sql, *args, **kwargs)

    monkeypatch.setattr(SqliteDatabase, "execute_sql", locked_twice)
    open_database(f"sqlite:///{tmp_path / 'gateway.sqlite3'}")
    try:
        assert len(attempts) == 3 and pragma("journal_mode") == "wal"
    finally:
        close_database()
