"""The database handle: bound once at start-up from a URL, never at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from peewee import Database, DatabaseProxy, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import connect

database = DatabaseProxy()
"""Every model is bound to this proxy; ``open_database`` points it at a real database."""

SQLITE_PRAGMAS = {
    "journal_mode": "wal",       # readers do not block the writer
    "busy_timeout": 30_000,      # wait for the write lock instead of failing at once
    "foreign_keys": 1,
    "synchronous": "normal",
}


def open_database(url: str) -> Database:
    """Connect ``database`` to ``sqlite:///file`` or ``postgresql://…`` and return it."""
    db = connect(url, pragmas=SQLITE_PRAGMAS) if url.startswith("sqlite") else connect(url)
    database.initialize(db)
    return db


def is_postgres() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)


@contextmanager
def write_transaction() -> Iterator[None]:
    """A transaction that writes. On SQLite it takes the write lock up front (``BEGIN
    IMMEDIATE``) so that two writers queue instead of failing when one upgrades its lock."""
    db = database.obj
    if isinstance(db, SqliteDatabase):
        with db.atomic("IMMEDIATE"):
            yield
    else:
        with db.atomic():
            yield
