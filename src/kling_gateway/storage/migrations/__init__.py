"""Versioned schema migrations, applied in order, each exactly once per database.

A migration is ``NNNN_name.<dialect>.sql`` (one per dialect, statements separated by ``;``) or
``NNNN_name.py`` with ``apply(db)``. ``migrate`` takes a database-wide lock first, so running it
twice, or from two processes at once, applies each migration once.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from peewee import Database, PostgresqlDatabase

from kling_gateway.domain.clock import now_ms
from kling_gateway.storage.db import database, lift_timeouts_for_transaction, write_transaction
from kling_gateway.storage.models import SchemaMigration

HERE = Path(__file__).parent
_LOCK_ID = 0x4B4C494E47  # "KLING": the advisory lock that serialises migrators on PostgreSQL


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path

    def apply(self, db: Database) -> None:
        if self.path.suffix == ".py":
            importlib.import_module(f"{__name__}.m{self.version}").apply(db)
            return
        for statement in self.path.read_text(encoding="utf-8").split(";"):
            sql = "\n".join(line for line in statement.splitlines()
                            if not line.lstrip().startswith("--")).strip()
            if sql:
                db.execute_sql(sql)


def _dialect(db: Database) -> str:
    return "postgresql" if isinstance(db, PostgresqlDatabase) else "sqlite"


def available(db: Database) -> list[Migration]:
    """Every migration for the dialect of ``db``, oldest first."""
    found: dict[str, Path] = {}
    for path in HERE.iterdir():
        version = path.name.split(".", 1)[0]
        if path.suffix == ".py" and path.name.startswith("m") and path.stem[1:5].isdigit():
            found[path.stem[1:]] = path
        elif path.name.endswith(f".{_dialect(db)}.sql") and version[:4].isdigit():
            found[version] = path
    return [Migration(version, found[version]) for version in sorted(found)]


def migrate() -> list[str]:
    """Apply what is missing; returns the versions applied now."""
    db = database.obj
    applied_now: list[str] = []
    with write_transaction():
        # Run once, behind a lock other starting processes wait on, and may rewrite large
        # tables: the request-sized statement and lock timeouts do not apply.
        lift_timeouts_for_transaction()
        if isinstance(db, PostgresqlDatabase):
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        db.create_tables([SchemaMigration], safe=True)
        done = {row.version for row in SchemaMigration.select()}
        for migration in available(db):
            if migration.version in done:
                continue
            migration.apply(db)
            SchemaMigration.create(version=migration.version, applied_at=now_ms())
            applied_now.append(migration.version)
    return applied_now


def pending() -> list[str]:
    """Versions not yet applied (for readiness checks)."""
    db = database.obj
    if not db.table_exists(SchemaMigration._meta.table_name):
        return [m.version for m in available(db)]
    done = {row.version for row in SchemaMigration.select()}
    return [m.version for m in available(db) if m.version not in done]
