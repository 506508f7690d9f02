"""Per-token limits over HTTP: the request rate (in one process, and shared by two instances
through Redis) and the cap on unfinished tasks, both refused with 1302 / HTTP 429.

The rate in these tests is 0.3 per second, which the gateway keeps as a moving window of 3
requests per 10 seconds: every burst below is far shorter than 10 seconds, so where it is
refused does not depend on the clock.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import redis
import requests

from kling_gateway.app import create_app
from kling_gateway.config import Settings
from kling_gateway.services import accounts
from kling_gateway.services.limits import RequestRateLimit
from kling_gateway.storage.db import database
from kling_gateway.storage.models import Task
from tests.support.gateway import CNY, Gateway, start_gateway
from tests.support.kling_client import KlingApi
from tests.support.server import serve

REDIS_URL = "redis://127.0.0.1:6379/0"
RATE = 0.3
LIST = "/v1/videos/text2video"
REFUSED_RATE = "at most 3 requests per 10 seconds"


def assert_refused(answer: requests.Response, says: str) -> None:
    body = answer.json()
    assert (answer.status_code, body["code"]) == (429, 1302), answer.text
    assert says in body["message"] and body["request_id"]


# ---- one instance, in-process ---------------------------------------------------------------


@pytest.fixture
def start_limited(database_url: str) -> Iterator[Callable[..., Gateway]]:
    """A gateway with the given settings; the ledger must agree with every balance afterwards."""
    with ExitStack() as stack:
        started: list[Gateway] = []

        def start(**overrides: Any) -> Gateway:
            started.append(start_gateway(database_url, stack, **overrides))
            return started[-1]

        yield start
        for running in started:
            running.assert_books_balance()


@pytest.fixture
def limited(start_limited: Callable[..., Gateway]) -> Gateway:
    return start_limited(token_requests_per_second=RATE)


def test_the_request_over_the_rate_is_1302_and_other_tokens_are_not_slowed(limited):
    ada, bob = limited.tenant("ada"), limited.tenant("bob")
    ada_other_token = accounts.create_token("ada", "second")
    bare = KlingApi(limited.base_url, api_key=ada.issued.api_key)

    # both base URLs, JWT and API key, reads and writes all count against the one token
    answers = [ada.jwt.get(LIST), bare.get(LIST), ada.key.post(LIST, {"prompt": ""})]
    assert [a.json()["code"] for a in answers] == [0, 0, 1201]  # even a refused body counts
    assert_refused(ada.key.get(LIST), REFUSED_RATE)
    assert_refused(ada.jwt.get(f"{LIST}/no-such-task"), REFUSED_RATE)

    assert bob.key.get(LIST).status_code == 200
    other = KlingApi(f"{limited.base_url}/kling", api_key=ada_other_token.api_key)
    assert other.get(LIST).status_code == 200


def test_unauthenticated_requests_are_refused_before_the_rate_is_counted(limited):
    ada = limited.tenant("ada")
    wrong = KlingApi(f"{limited.base_url}/kling", api_key="not-a-key")
    assert [wrong.get(LIST).json()["code"] for _ in range(4)] == [1000] * 4
    assert [ada.key.get(LIST).status_code for _ in range(3)] == [200] * 3


# ---- unfinished tasks -----------------------------------------------------------------------


def test_a_create_over_the_running_tasks_cap_is_1302_without_charge(start_limited):
    limited = start_limited(token_running_tasks=2)
    upstream = limited.add_upstream("sim")
    ada, bob = limited.tenant("ada"), limited.tenant("bob")
    first = ada.key.create(LIST, {"prompt": "one"})
    ada.key.create(LIST, {"prompt": "two"})
    balance = ada.balance

    assert_refused(ada.jwt.post(LIST, {"prompt": "three", "external_task_id": "three"}),
                   "at most 2 tasks")
    assert ada.balance == balance and len(upstream.jobs()) == 2
    assert not Task.select().where(Task.external_task_id == "three").exists()
    assert bob.key.post(LIST, {"prompt": "bob's"}).status_code == 200

    limited.finish_upstream_tasks()
    assert ada.key.get(f"{LIST}/{first['task_id']}").json()["data"]["task_status"] == "succeed"
    assert ada.key.post(LIST, {"prompt": "three", "external_task_id": "three"}).status_code == 200
    assert ada.balance < balance and len(upstream.jobs()) == 4


# ---- two instances sharing Redis ------------------------------------------------------------


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own; only its keys are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"kling-gateway-test-{uuid.uuid4().hex}"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


def serve_instance(database_url: str, stack: ExitStack, rate_limit: RequestRateLimit) -> str:
    """One more gateway instance on the same database, with its own rate-limit object."""
    settings = Settings(database_url=database_url, redis_url=REDIS_URL,
                        token_requests_per_second=RATE)
    app = create_app(settings, rate_limit=rate_limit, validate_responses=True)
    stack.callback(app.app.config["KLING_GATEWAY"].upstreams.close)
    stack.callback(database.close)
    return stack.enter_context(serve(app))


def api_key_of(name: str) -> str:
    accounts.create_user(name, balance=10 * CNY)
    return accounts.create_token(name).api_key


def test_two_instances_sharing_redis_limit_the_combined_rate(database_url, redis_prefix):
    with ExitStack() as stack:
        urls = [serve_instance(database_url, stack,
                               RequestRateLimit(RATE, REDIS_URL, key_prefix=redis_prefix))
                for _ in range(2)]
        ada_key, bob_key = api_key_of("ada"), api_key_of("bob")
        ada = [KlingApi(f"{url}/kling", api_key=ada_key) for url in urls]

        assert [ada[i % 2].get(LIST).status_code for i in range(3)] == [200] * 3
        assert_refused(ada[1].get(LIST), REFUSED_RATE)
        assert_refused(ada[0].get(LIST), REFUSED_RATE)
        assert KlingApi(urls[1], api_key=bob_key).get(LIST).status_code == 200

        stored = list(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"{redis_prefix}:*"))
        assert len(stored) == 2  # one moving window per token, shared by both instances


def test_an_unreachable_redis_falls_back_to_a_limit_in_the_process(database_url, caplog):
    caplog.set_level(logging.WARNING, logger="kling_gateway.services.limits")
    with ExitStack() as stack:
        nowhere = RequestRateLimit(RATE, "redis://127.0.0.1:1/0")
        url = serve_instance(database_url, stack, nowhere)
        ada = KlingApi(url, api_key=api_key_of("ada"))

        assert [ada.get(LIST).status_code for _ in range(3)] == [200] * 3
        assert_refused(ada.get(LIST), REFUSED_RATE)
    assert "Redis unreachable" in caplog.text
