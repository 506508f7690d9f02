"""Versioned migrations: idempotent, safe from two processes, and the models match the schema."""

from __future__ import annotations

import subprocess
import sys

from kling_gateway.storage.db import open_database
from kling_gateway.storage.migrations import available, migrate, pending
from kling_gateway.storage.models import TABLES, Price, SchemaMigration


def test_migrate_is_idempotent_and_seeds_prices(db):
    assert migrate() == []
    assert pending() == []
    assert [m.version for m in available(db)] == [row.version for row in
                                                  SchemaMigration.select().order_by(
                                                      SchemaMigration.version)]
    assert Price.get_by_id("kling-video_kling-v1_std_5").amount == 5 * 10_000


def test_every_model_column_exists_in_the_migrated_schema(db):
    for model in TABLES:
        table = model._meta.table_name
        columns = {column.name for column in db.get_columns(table)}
        expected = {field.column_name for field in model._meta.sorted_fields}
        assert expected == columns, table
        indexes = {index.name for index in db.get_indexes(table)}
        for fields, _unique in model._meta.indexes:
            name = "_".join([table, *(model._meta.fields[f].column_name for f in fields)])
            assert name in indexes, name


MIGRATE_IN_CHILD = """
import sys
from kling_gateway.storage.db import open_database
from kling_gateway.storage.migrations import migrate
open_database(sys.argv[1])
print(",".join(migrate()))
"""


def test_two_processes_migrating_at_once_apply_each_version_once(database_url):
    versions = ",".join(m.version for m in available(open_database(database_url)))
    children = [subprocess.Popen([sys.executable, "-c", MIGRATE_IN_CHILD, database_url],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
    results = [child.communicate(timeout=120) for child in children]

    assert [child.returncode for child in children] == [0, 0], results
    applied = [out.strip() for out, _ in results]
    assert sorted(applied) == ["", versions]
    assert versions.startswith("0001_initial,0002_seed_prices,0003")
