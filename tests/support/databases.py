"""Real databases for tests: a SQLite file per test, or a PostgreSQL schema per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg2

from kling_gateway.storage.db import database

POSTGRES_URL = os.environ.get("KLING_GATEWAY_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgres")


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards; yields a URL that uses it."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = psycopg2.connect(POSTGRES_URL)
    admin.autocommit = True
    try:
        admin.cursor().execute(f'CREATE SCHEMA "{schema}"')
        separator = "&" if "?" in POSTGRES_URL else "?"
        yield f"{POSTGRES_URL}{separator}options={quote(f'-c search_path={schema}')}"
    finally:
        admin.cursor().execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


@contextmanager
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.sqlite3'}"
    else:
        with postgres_schema() as url:
            yield url


@contextmanager
def recorded_statements(keep: Callable[[str], bool] = lambda sql: True) -> Iterator[list[str]]:
    """The SQL statements (those ``keep`` accepts) run inside the block, on any thread."""
    db = database.obj
    original = db.execute_sql
    seen: list[str] = []

    def recording(sql: str, *args: Any, **kwargs: Any) -> Any:
        if keep(sql):
            seen.append(sql)
        return original(sql, *args, **kwargs)

    db.execute_sql = recording
    try:
        yield seen
    finally:
        del db.execute_sql


def _our_select(sql: str) -> bool:
    """A SELECT of the gateway's (the pool's own liveness check is not one of ours)."""
    return sql.lstrip().upper().startswith("SELECT") and sql.strip().upper() != "SELECT 1"


def counted_selects() -> AbstractContextManager[list[str]]:
    """The SELECTs run inside the block."""
    return recorded_statements(_our_select)
