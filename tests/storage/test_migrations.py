"""Versioned migrations: idempotent, safe from two processes, and the models match the schema."""

from __future__ import annotations

import subprocess
import sys

from peewee import Database

from kling_gateway.domain.owned import Resource
from kling_gateway.domain.seed_prices import default_prices
from kling_gateway.services import accounts
from kling_gateway.storage import owned
from kling_gateway.storage.channel_book import StoredChannelBook
from kling_gateway.storage.db import (
    lift_timeouts_for_transaction,
    open_database,
    write_transaction,
)
from kling_gateway.storage.migrations import available, migrate, pending
from kling_gateway.storage.models import TABLES, Channel, Price, SchemaMigration, Task
from kling_gateway.upstream.channels import Upstreams


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


def migrate_up_to(db: Database, last: str) -> None:
    """The schema as it was at version ``last``, as ``migrate`` would have left it."""
    with write_transaction():
        lift_timeouts_for_transaction()
        db.create_tables([SchemaMigration], safe=True)
        for migration in available(db):
            if migration.version <= last:
                migration.apply(db)
                SchemaMigration.create(version=migration.version, applied_at=0)


def test_existing_tasks_get_their_watermark_choice_from_their_bodies(database_url):
    db = open_database(database_url)
    migrate_up_to(db, "0005")
    user = accounts.create_user("ada")
    bodies = {"none": {"prompt": "p"},
              "on": {"prompt": "p", "watermark_info": {"enabled": True}},
              "off": {"prompt": "p", "watermark_info": {"enabled": False}},
              "unsaid": {"prompt": "p", "watermark_info": {}},
              "in-text": {"prompt": "the words watermark_info, in a prompt"}}
    for name, body in bodies.items():  # only the columns that version had
        Task.insert(id=name, user=user.id, family="text2video", price_key="k", status="succeed",
                    request_body=body, created_at=0, updated_at=0).execute()
    assert "0006" in ",".join(migrate())
    found = {task.id: task.watermark_enabled for task in Task.select()}
    assert found == {"none": None, "on": True, "off": False, "unsaid": False, "in-text": None}


def test_existing_channels_stay_in_rotation(database_url):
    db = open_database(database_url)
    migrate_up_to(db, "0006")
    Channel.insert(name="old", base_url="https://api-beijing.klingai.com", access_key="ak",
                   secret_key="sk", priority=0, weight=1, enabled=True,
                   created_at=0).execute()  # only the columns that version had
    assert "0007" in ",".join(migrate())
    (channel,) = Channel.select()
    assert (channel.broken_code, channel.broken_reason, channel.broken_at,
            channel.last_checked_at) == (None, None, None, None)
    assert [c.name for c in Upstreams(StoredChannelBook()).candidates(None)] == ["old"]


def test_existing_tasks_have_no_report_from_kling_yet(database_url):
    db = open_database(database_url)
    migrate_up_to(db, "0009")  # every version before it
    user = accounts.create_user("ada")
    Task.insert(id="old", user=user.id, family="text2video", price_key="k", status="succeed",
                request_body={"prompt": "p"}, created_at=0,
                updated_at=0).execute()  # only the columns that version had
    assert "0009" in ",".join(migrate())
    assert Task.get_by_id("old").reported_fields is None


def test_kling_prices_are_added_without_touching_a_price_already_set(database_url):
    db = open_database(database_url)
    migrate_up_to(db, "0007")
    assert Price.select().count() == 41  # the brief's
    Price.update(amount=7).where(Price.key == "kling-video_kling-v1_std_5").execute()
    Price.insert(key="kling-video_kling-v3_pro_sound", amount=99, updated_at=0).execute()
    assert "0008" in ",".join(migrate())
    table = {price.key: price.amount for price in Price.select()}
    assert (table["kling-video_kling-v1_std_5"], table["kling-video_kling-v3_pro_sound"]) == (
        7, 99)  # an operator's prices stay
    assert table == {**default_prices(), "kling-video_kling-v1_std_5": 7,
                     "kling-video_kling-v3_pro_sound": 99}


def test_the_new_families_prices_are_added_without_touching_one_already_set(database_url):
    db = open_database(database_url)
    migrate_up_to(db, "0010")
    Price.update(amount=3).where(Price.key == "kling-video_kling-v1_std_5").execute()
    Price.delete().where(Price.key == "kling-video_kling-v1_pro").execute()  # withdrawn
    Price.insert(key="kling-effects", amount=99, updated_at=0).execute()
    assert "0010" in ",".join(migrate())
    table = {price.key: price.amount for price in Price.select()}
    assert table["kling-effects"] == 99 and table["kling-video_kling-v1_std_5"] == 3
    assert "kling-video_kling-v1_pro" not in table  # a price withdrawn stays withdrawn
    assert table["kling-omni-video_kling-v3-omni_pro_sound"] == 10_000  # ¥1.00 a second


def test_lip_sync_and_video_tool_prices_are_added_without_touching_one_already_set(
        database_url):
    db = open_database(database_url)
    migrate_up_to(db, "0011")
    Price.insert(key="kling-lip-sync", amount=99, updated_at=0).execute()
    assert "0012" in ",".join(migrate())
    table = {price.key: price.amount for price in Price.select()}
    assert table["kling-lip-sync"] == 99  # an operator's price stays
    assert (table["kling-video-extend_std"], table["kling-video-extend_pro"]) == (20_000, 35_000)
    assert (table["kling-identify-face"], table["kling-video-to-audio"]) == (500, 2_500)


def test_avatar_prices_are_added_without_touching_one_already_set(database_url):
    db = open_database(database_url)
    migrate_up_to(db, "0014")
    Price.insert(key="kling-avatar_pro", amount=99, updated_at=0).execute()
    assert "0015" in ",".join(migrate())
    table = {price.key: price.amount for price in Price.select()}
    assert table["kling-avatar_pro"] == 99  # an operator's price stays
    assert table["kling-avatar_std"] == 4_000  # ¥0.40 a second


def test_the_videos_tasks_made_keep_their_owner_and_channel(database_url):
    db = open_database(database_url)
    migrate_up_to(db, "0011")
    user = accounts.create_user("ada")
    Task.insert(id="made-it", user=user.id, family="text2video", price_key="k",
                status="succeed", request_body={"prompt": "p"}, created_at=1234,
                updated_at=0).execute()
    db.execute_sql('INSERT INTO "upstream_videos" ("video_id", "user_id", "task_id", '
                   '"channel_id") VALUES (%s, %s, %s, NULL)'
                   .replace("%s", "?" if "sqlite" in database_url else "%s"),
                   ("vid-1", user.id, "made-it"))
    assert "0011" in ",".join(migrate())
    video = owned.find(Resource.VIDEO, "vid-1")
    assert (video.user_id, video.channel_id, video.created_at) == (user.id, None, 1234)
    assert owned.find(Resource.AUDIO, "vid-1") is None
