"""Listing a user's tasks page by page on both backends: newest first, ties broken by id, each
task on exactly one page, nobody else's tasks and no other family."""

from __future__ import annotations

import pytest

from kling_gateway.services import accounts
from kling_gateway.storage.models import Task
from kling_gateway.storage.tasks import page_own

T2V = "text2video"


def add_tasks(user_id: int, family: str, created: list[int], *, prefix: str) -> None:
    """Tasks whose ids sort in the order given (several may share a ``created_at``)."""
    Task.insert_many([
        {"id": f"{prefix}{index:04d}", "user": user_id, "family": family,
         "price_key": "kling-video_kling-v1_std_5", "status": "succeed",
         "request_body": {"prompt": f"task {index}"}, "result": {"videos": []},
         "created_at": created_at, "updated_at": created_at}
        for index, created_at in enumerate(created)]).execute()


@pytest.fixture
def listing(db) -> int:
    """ada has 23 text2video tasks, several created in the same millisecond; bob and ada's
    image2video tasks interleave with them and must never show up."""
    ada = accounts.create_user("ada").id
    bob = accounts.create_user("bob").id
    created = [1_000 + index // 3 for index in range(23)]  # three per millisecond
    add_tasks(ada, T2V, created, prefix="7")
    add_tasks(ada, "image2video", created, prefix="8")
    add_tasks(bob, T2V, created, prefix="9")
    return ada


def ids(tasks: list[Task]) -> list[str]:
    return [task.id for task in tasks]


def test_the_first_page_is_the_newest_tasks_ties_by_id(listing):
    page = page_own(listing, T2V, 1, 5)
    assert ids(page) == ["70022", "70021", "70020", "70019", "70018"]
    assert [task.created_at for task in page] == [1_007, 1_007, 1_006, 1_006, 1_006]


@pytest.mark.parametrize("page_size", [1, 4, 5, 23, 500])
def test_pages_cover_every_task_once_in_order(listing, page_size):
    expected = [f"7{index:04d}" for index in reversed(range(23))]
    pages = [ids(page_own(listing, T2V, number, page_size))
             for number in range(1, 23 // page_size + 2)]
    assert [task_id for page in pages for task_id in page] == expected
    assert all(len(page) == page_size for page in pages[:-1])


@pytest.mark.parametrize("page_num", [1, 3])
def test_a_page_reads_every_column_but_the_request_body(listing, page_num):
    (task,) = page_own(listing, T2V, page_num, 10)[-1:]
    assert (task.user_id, task.family, task.status) == (listing, T2V, "succeed")
    assert task.result == {"videos": []} and task.price_key == "kling-video_kling-v1_std_5"
    assert "request_body" not in task.__data__  # megabytes of Base64, and not needed here


def test_a_page_past_the_end_is_empty(listing):
    assert page_own(listing, T2V, 4, 10) == []
    assert page_own(listing, T2V, 1000, 500) == []


def test_only_the_users_tasks_of_the_family_are_listed(listing):
    carol = accounts.create_user("carol").id
    assert page_own(carol, T2V, 1, 30) == []
    assert page_own(carol, T2V, 2, 30) == []
    listed = page_own(listing, "image2video", 2, 20)
    assert ids(listed) == ["80002", "80001", "80000"]
