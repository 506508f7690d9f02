from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Any

import pytest
from peewee import Database

from kling_gateway.logs import JsonFormatter
from kling_gateway.services.token_cache import DEFAULT_SECONDS, tokens
from kling_gateway.simulator.app import Simulator, create_simulator_app
from kling_gateway.simulator.settings import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_SECRET_KEY,
    SimulatorSettings,
)
from kling_gateway.storage.db import open_database
from kling_gateway.storage.migrations import migrate
from tests.support.clock import ManualClock
from tests.support.databases import BACKENDS
from tests.support.databases import database_url as open_database_url
from tests.support.gateway import Gateway, start_gateway
from tests.support.kling_client import KlingApi
from tests.support.server import serve

TEST_SETTINGS = SimulatorSettings(task_seconds=10.0, concurrency=5, ticker_seconds=None, seed=7)
"""Tasks move only when a test advances the clock and asks; no background thread."""


@dataclass
class RunningSimulator:
    base_url: str
    simulator: Simulator
    clock: ManualClock
    api: KlingApi

    def client(self, access_key: str, secret_key: str) -> KlingApi:
        return KlingApi(self.base_url, access_key, secret_key, clock=self.clock)

    def finish_tasks(self) -> None:
        """Move simulated time past every task's end."""
        self.clock.advance(self.simulator.settings.task_seconds + 1)


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Every line logged in this process while the test runs, formatted as in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture(autouse=True)
def fresh_token_cache() -> Iterator[None]:
    """Each test starts with an empty authentication cache on the real clock (a test may put it
    on a manual clock)."""
    tokens.configure(DEFAULT_SECONDS)
    yield
    tokens.configure(DEFAULT_SECONDS)


@pytest.fixture
def start_simulator() -> Iterator[Callable[..., RunningSimulator]]:
    with ExitStack() as stack:

        def start(**overrides: object) -> RunningSimulator:
            clock = ManualClock()
            settings = replace(TEST_SETTINGS, **overrides)
            app, simulator = create_simulator_app(settings, clock=clock, validate_responses=True)
            stack.callback(simulator.close)
            base_url = stack.enter_context(serve(app))
            api = KlingApi(base_url, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, clock=clock)
            return RunningSimulator(base_url, simulator, clock, api)

        yield start


@pytest.fixture
def sim(start_simulator: Callable[..., RunningSimulator]) -> RunningSimulator:
    return start_simulator()


# ---- Gateway storage ----------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> Iterator[str]:
    """An empty database of each backend (the whole storage suite runs on both)."""
    with open_database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The gateway database, migrated, bound to the models."""
    database = open_database(database_url)
    migrate()
    yield database
    database.close()


@pytest.fixture
def gateway(database_url: str) -> Iterator[Gateway]:
    """A gateway on each backend; the ledger must agree with every balance afterwards."""
    with ExitStack() as stack:
        running = start_gateway(database_url, stack)
        yield running
        running.assert_books_balance()


@pytest.fixture
def public_gateway(database_url: str) -> Iterator[Gateway]:
    """A gateway with a public URL: upstreams report task changes to it (its callback URL)."""
    with ExitStack() as stack:
        running = start_gateway(database_url, stack, public=True)
        yield running
        running.assert_books_balance()
