"""Prepared statements on both backends: SQL written once per kind of database, fresh arguments
bound on every call, rows read back exactly as the model's own select reads them, and inserts
that fill defaults per call."""

from __future__ import annotations

import pytest
from peewee import IntegrityError, ModelSelect

from kling_gateway.services import accounts
from kling_gateway.storage import ledger
from kling_gateway.storage.models import LedgerEntry, Task
from kling_gateway.storage.prepared import PreparedInsert, PreparedQuery
from kling_gateway.storage.tasks import find_own


def add_task(user_id: int, task_id: str, **fields: object) -> None:
    Task.insert(id=task_id, user=user_id, family="text2video", price_key="k", status="succeed",
                request_body={"prompt": "a cat", "n": [1, 2]},
                result={"videos": [{"id": "v1", "url": "https://cdn.example/v1.mp4"}]},
                created_at=1_000, updated_at=2_000, **fields).execute()


def test_rows_equal_what_the_models_own_select_reads(db):
    user = accounts.create_user("ada").id
    add_task(user, "71", external_task_id="mine-1", channel=None, synced_at=None)

    def by_user(user_id: object) -> ModelSelect:
        return Task.select().where(Task.user == user_id)

    (prepared,) = PreparedQuery(Task, by_user).rows(user)
    (selected,) = Task.select().where(Task.user == user)
    assert prepared.__data__ == selected.__data__
    assert prepared.request_body == {"prompt": "a cat", "n": [1, 2]}  # JSON read back
    assert prepared.user_id == user and prepared.channel_id is None
    assert not prepared.is_dirty()  # as read: saving it would write nothing


def test_sql_is_written_once_and_each_call_binds_its_own_arguments(db):
    ada, bob = accounts.create_user("ada").id, accounts.create_user("bob").id
    add_task(ada, "71")
    add_task(bob, "72")
    built: list[object] = []

    def by_user(user_id: object) -> ModelSelect:
        built.append(user_id)
        return Task.select().where(Task.user == user_id).limit(1)  # a constant among slots

    query = PreparedQuery(Task, by_user)
    assert [task.id for task in query.rows(ada)] == ["71"]
    assert [task.id for task in query.rows(bob)] == ["72"]
    assert query.first(-1) is None
    assert len(built) == 1


def test_find_own_prefers_the_gateway_id_over_an_equal_external_id(db):
    ada, bob = accounts.create_user("ada").id, accounts.create_user("bob").id
    add_task(ada, "71", external_task_id="72")
    add_task(ada, "72")
    add_task(bob, "73", external_task_id="mine")
    assert find_own(ada, "text2video", "72").id == "72"
    assert find_own(ada, "text2video", "71").id == "71"
    assert find_own(ada, "text2video", "mine") is None  # bob's external id
    assert find_own(bob, "text2video", "mine").id == "73"
    assert find_own(ada, "image2video", "71") is None


def test_an_insert_fills_defaults_per_call_and_answers_the_row_as_stored(db):
    user = accounts.create_user("ada").id
    calls: list[int] = []

    class Counted(Task):  # a callable default, called once per insert as peewee would
        class Meta:
            table_name = "tasks"

    Counted.poll_count.default = lambda: calls.append(1) or len(calls)
    insert = PreparedInsert(Counted)
    first = insert(id="71", user=user, family="text2video", price_key="k", status="queued",
                   request_body={"prompt": "a cat"}, created_at=1, updated_at=1)
    second = insert(id="72", user=user, family="text2video", price_key="k", status="queued",
                    request_body={"prompt": "a dog"}, created_at=1, updated_at=1)
    assert (first.poll_count, second.poll_count) == (1, 2)
    assert first.status_msg == "" and first.amount == 0 and first.channel_id is None
    assert Task.get_by_id("72").request_body == {"prompt": "a dog"}
    assert second.__data__ == Task.get_by_id("72").__data__


def test_an_insert_refuses_unknown_fields_and_raises_the_databases_errors(db):
    user = accounts.create_user("ada").id
    insert = PreparedInsert(Task)
    row = dict(id="71", user=user, family="text2video", price_key="k", status="queued",
               request_body={}, created_at=1, updated_at=1)
    insert(**row)
    with pytest.raises(IntegrityError):
        insert(**row)  # the same primary key
    with pytest.raises(TypeError, match="no field colour"):
        insert(**row, colour="red")


def test_ledger_entries_get_the_databases_ids(db):
    user = accounts.create_user("ada", balance=1_000).id
    first = ledger.debit(user, 100, note="one")
    second = ledger.debit(user, 100, note="two")
    assert second.id > first.id and LedgerEntry.get_by_id(second.id).note == "two"
    assert ledger.balance_matches_ledger(user)
