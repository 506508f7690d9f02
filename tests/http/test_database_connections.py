"""A gateway on PostgreSQL, seen over HTTP: a bounded number of connections however many
threads serve, connections the server dropped replaced before the next request, and a
statement that runs too long answered with the official 5000 envelope."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest

from kling_gateway.config import DatabaseLimits
from kling_gateway.storage.db import release_connection
from tests.storage.test_pool import backends, migrate_without_timeouts, table_locked, terminate
from tests.support.databases import postgres_schema
from tests.support.gateway import Gateway, Tenant, start_gateway

TEXT2VIDEO = "/v1/videos/text2video"


class Deployment:
    """A gateway whose connections carry a name of their own in ``pg_stat_activity``."""

    def __init__(self, schema_url: str, stack: ExitStack, limits: DatabaseLimits) -> None:
        self.schema_url = schema_url
        self.application_name = f"gw-test-{uuid.uuid4().hex[:10]}"
        self.gateway: Gateway = start_gateway(
            f"{schema_url}&application_name={self.application_name}", stack,
            database_limits=limits)
        self.gateway.add_upstream("sim")
        self.ada: Tenant = self.gateway.tenant("ada")
        release_connection()  # the test's own thread holds none while the gateway serves

    def connections(self) -> int:
        return len(backends(self.schema_url, self.application_name))


@pytest.fixture
def deploy(monkeypatch) -> Iterator[Callable[..., Deployment]]:
    monkeypatch.setattr("kling_gateway.app.migrate", migrate_without_timeouts)
    with postgres_schema() as schema_url, ExitStack() as stack:

        def start(limits: DatabaseLimits | None = None) -> Deployment:
            return Deployment(schema_url, stack, limits or DatabaseLimits())

        yield start


def test_many_concurrent_requests_share_a_small_pool(deploy):
    running = deploy(DatabaseLimits(pool_size=2, pool_wait_seconds=30))
    api = running.ada.key

    def create_then_read(number: int) -> tuple[int, int]:
        created = api.post(TEXT2VIDEO, {"prompt": f"p{number}", "external_task_id": f"e{number}"})
        read = api.get(f"{TEXT2VIDEO}/e{number}")
        return created.status_code, read.status_code

    with ThreadPoolExecutor(max_workers=8) as clients:
        answers = list(clients.map(create_then_read, range(40)))

    assert answers == [(200, 200)] * 40  # a connection never handed back would starve one
    assert 1 <= running.connections() <= 2


def test_a_request_after_the_server_dropped_every_connection_succeeds(deploy):
    running = deploy()
    api = running.ada.key
    assert api.get(TEXT2VIDEO).status_code == 200
    assert running.connections() >= 1

    terminate(running.schema_url, running.application_name)

    for _ in range(3):  # the authentication thread's connection and the handler thread's
        listed = api.get(TEXT2VIDEO)
        assert listed.status_code == 200, listed.text
    assert running.connections() >= 1


@pytest.mark.parametrize("limits", [DatabaseLimits(statement_timeout_ms=300, lock_timeout_ms=0),
                                    DatabaseLimits(statement_timeout_ms=60_000,
                                                   lock_timeout_ms=300)],
                         ids=["statement-timeout", "lock-timeout"])
def test_a_statement_over_the_timeout_answers_the_official_5000(deploy, limits):
    running = deploy(limits)
    api = running.ada.key

    with table_locked(running.schema_url, "api_tokens"):  # authentication reads it first
        stuck = api.get(TEXT2VIDEO)

    assert stuck.status_code == 500
    body = stuck.json()
    assert body["code"] == 5000 and set(body) == {"code", "message", "request_id"}
    assert "timeout" not in body["message"]  # no database detail leaks to the client
    assert api.get(TEXT2VIDEO).status_code == 200  # the same connections serve again
