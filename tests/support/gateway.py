"""A running gateway with simulators as its upstream channels, for end-to-end tests."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Any

import requests

from kling_gateway.app import ADMIN_BASE_PATH, create_app
from kling_gateway.config import Settings
from kling_gateway.services import accounts, channels
from kling_gateway.services.context import GatewayContext
from kling_gateway.simulator.app import Simulator, create_simulator_app
from kling_gateway.simulator.settings import SimulatorSettings
from kling_gateway.storage import ledger
from kling_gateway.storage.channel_book import StoredChannelBook
from kling_gateway.storage.db import database
from kling_gateway.storage.models import LedgerEntry, User
from kling_gateway.upstream.channels import Upstreams
from kling_gateway.upstream.client import Timeouts
from kling_gateway.worker.policy import SyncPolicy
from kling_gateway.worker.syncer import Syncer
from tests.support.clock import ManualClock
from tests.support.kling_client import KlingApi
from tests.support.server import serve

CNY = 10_000
ADMIN_TOKEN = "admin-token"
SIM_KEY = ("upstream-ak", "upstream-sk-0123456789abcdef0123456789")
UPSTREAM = SimulatorSettings(accounts=dict([SIM_KEY]), task_seconds=10.0, concurrency=50,
                             ticker_seconds=None, seed=11)


@dataclass
class Upstream:
    """One simulated Kling account behind one gateway channel."""

    name: str
    base_url: str
    simulator: Simulator

    def jobs(self) -> list[Any]:
        """Every task the upstream account holds: a gateway bug would show here as extras."""
        return list(self.simulator.tasks._tasks.values())


@dataclass
class Tenant:
    name: str
    issued: accounts.IssuedToken
    jwt: KlingApi
    key: KlingApi

    @property
    def balance(self) -> int:
        return User.get(User.name == self.name).balance


@dataclass
class Gateway:
    base_url: str
    clock: ManualClock
    context: GatewayContext
    upstreams: list[Upstream] = field(default_factory=list)
    stack: ExitStack = field(default_factory=ExitStack)

    def syncer(self, owner: str = "test-worker", **policy: Any) -> Syncer:
        """The background sync, driven by the test one pass at a time."""
        syncer = Syncer(self.context.settings, self.context.upstreams, owner,
                        SyncPolicy(**policy))
        self.stack.callback(syncer.close)
        return syncer

    def tenant(self, name: str, balance_cny: int = 1000) -> Tenant:
        accounts.create_user(name, balance=balance_cny * CNY)
        issued = accounts.create_token(name)
        base = f"{self.base_url}/kling"
        return Tenant(name, issued, KlingApi(base, issued.access_key, issued.secret_key),
                      KlingApi(base, api_key=issued.api_key))

    def add_upstream(self, name: str, priority: int = 0, *, secret_key: str = SIM_KEY[1],
                     **overrides: Any) -> Upstream:
        """A simulator and a channel to it; ``secret_key``: the one the channel holds (the
        simulator knows only ``SIM_KEY``)."""
        app, simulator = create_simulator_app(replace(UPSTREAM, **overrides), clock=self.clock)
        self.stack.callback(simulator.close)
        url = self.stack.enter_context(serve(app))
        channels.add_channel(name, access_key=SIM_KEY[0], secret_key=secret_key, base_url=url,
                             priority=priority)
        upstream = Upstream(name, url, simulator)
        self.upstreams.append(upstream)
        return upstream

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        """The ``data`` of a successful admin API call (``path`` below ``/admin/v1``)."""
        response = requests.request(method, f"{self.base_url}{ADMIN_BASE_PATH}{path}",
                                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                                    timeout=30, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def finish_upstream_tasks(self) -> None:
        self.clock.advance(UPSTREAM.task_seconds + 1)

    def assert_books_balance(self) -> None:
        for user in User.select():
            assert ledger.balance_matches_ledger(user.id), user.name

    @staticmethod
    def charges(kind: str = "charge") -> list[LedgerEntry]:
        return list(LedgerEntry.select().where(LedgerEntry.kind == kind))


def start_gateway(database_url: str, stack: ExitStack, *,
                  read_timeout: float = 10.0, public: bool = False, **overrides: Any) -> Gateway:
    """A gateway that refreshes tasks from upstream on every read (no staleness window), so a
    test sees upstream progress as soon as it moves the simulators' clock."""
    upstreams = Upstreams(StoredChannelBook(), timeouts=Timeouts(connect=2.0, read=read_timeout),
                          stale_after_ms=0, cooldown_seconds=600)
    stack.callback(upstreams.close)
    settings = Settings(database_url=database_url, admin_token=ADMIN_TOKEN,
                        **{"callback_allow_networks": ("127.0.0.0/8",), **overrides})
    app = create_app(settings, upstreams=upstreams, validate_responses=True)
    assert app.app.config["KLING_GATEWAY"].upstreams is upstreams
    stack.callback(database.close)
    base_url = stack.enter_context(serve(app))
    if public:  # upstreams call the gateway back at its own (test) address
        settings = replace(settings, public_url=base_url)
    context = GatewayContext(settings, upstreams)
    app.app.config["KLING_GATEWAY"] = context
    return Gateway(base_url=base_url, clock=ManualClock(), context=context, stack=stack)
