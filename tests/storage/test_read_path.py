"""The get-by-id path reads no more than it needs: one query to authenticate, one to find a
task that needs no refresh (issue 6: get-by-id throughput)."""

from __future__ import annotations

import pytest

from kling_gateway import kling_jwt
from kling_gateway.config import Settings
from kling_gateway.domain import families
from kling_gateway.services import accounts, task_sync, tasks
from kling_gateway.services.auth import authenticate
from kling_gateway.services.context import GatewayContext
from kling_gateway.storage.channel_book import StoredChannelBook
from kling_gateway.storage.models import Task
from kling_gateway.upstream.channels import Upstreams
from tests.support.databases import counted_selects


@pytest.fixture
def issued(db):
    accounts.create_user("ada")
    return accounts.create_token("ada", "laptop")


def test_an_api_key_is_authenticated_with_one_query(issued):
    with counted_selects() as selects:
        caller = authenticate(f"Bearer {issued.api_key}")
    assert caller.user_name == "ada"
    assert len(selects) == 1


def test_a_jwt_is_authenticated_with_one_query(issued):
    token = kling_jwt.sign(issued.access_key, issued.secret_key)
    with counted_selects() as selects:
        assert authenticate(f"Bearer {token}").token_id == issued.token.id
    assert len(selects) == 1


def _task(issued: accounts.IssuedToken, status: str) -> Task:
    now = 1_700_000_000_000
    return Task.create(
        id="17000000000000000001", user=issued.token.user_id, token=issued.token.id,
        family="text2video", model_name="kling-v1", mode="std", duration="5",
        price_key="kling-v1:std:5", amount=0, status=status, status_msg="",
        request_body={"prompt": "p"}, external_task_id="mine",
        result={"videos": [{"id": "v", "url": "https://cdn.example/v.mp4", "duration": "5"}]},
        created_at=now, updated_at=now, synced_at=now, next_poll_at=0)


def test_a_finished_task_is_found_with_one_query_and_not_refreshed(issued):
    stored = _task(issued, "succeed")
    settings = Settings.from_env({})
    context = GatewayContext(settings, Upstreams.from_settings(settings, StoredChannelBook()))
    caller = authenticate(f"Bearer {issued.api_key}")
    with counted_selects() as selects:
        found = tasks.find(context, caller, families.named("text2video"), stored.id)
    assert (found.id, found.status, found.result) == (stored.id, "succeed", stored.result)
    assert len(selects) == 1
    assert not task_sync.refresh_if_stale(context.upstreams, found)
