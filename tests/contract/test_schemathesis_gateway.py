"""Schemathesis fuzzes the gateway itself, on SQLite and PostgreSQL: every operation of the
Kling API (``openapi/kling.yaml`` at ``/kling``) with a gateway API key, then every operation
of the admin API (``openapi/admin.yaml``) with the admin token.

The checks are those of the simulator's run (``test_schemathesis.py``): never a 5xx, documented
statuses, the official envelope, responses that match the spec, schema-violating requests
refused with a 4xx, and no 2xx without credentials. Each backend's gateway has a simulator as
its one channel and a tenant with money enough for every fuzzed create. Nothing leaves the
machine: fuzzed callback URLs are checked but never called here (no worker runs), and every
channel the admin fuzzing adds points at a closed local port.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import hypothesis
import pytest

from tests.support.databases import BACKENDS, database_url
from tests.support.fuzzing import (
    CHECKS,
    HYPOTHESIS_SETTINGS,
    asks_for_a_fault,
    count,
    load_schema,
    sent,
)
from tests.support.gateway import Gateway, start_gateway

pytestmark = pytest.mark.slow
__all__ = ["sent"]  # a fixture

MAX_EXAMPLES = 15
"""Fuzzing-phase examples per operation and backend (examples and coverage add their own)."""
CLOSED_PORT_URL = "http://127.0.0.1:9"
"""Where fuzzed channels point: the discard port, closed here, so nothing is ever sent."""

kling = load_schema("kling.yaml", MAX_EXAMPLES)
admin = load_schema("admin.yaml", MAX_EXAMPLES)


@pytest.fixture(scope="module", params=BACKENDS)
def gateway(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            ) -> Iterator[Gateway]:
    """A gateway on one backend with a simulated channel."""
    with ExitStack() as stack:
        url = stack.enter_context(database_url(request.param, tmp_path_factory.mktemp("db")))
        gateway = start_gateway(url, stack)
        gateway.add_upstream("sim", concurrency=100_000)
        yield gateway


@pytest.fixture(scope="module")
def api_key(gateway: Gateway) -> str:
    """A tenant with money enough for every fuzzed create."""
    return gateway.tenant("fuzz", balance_cny=10**9).issued.api_key


def _authorize(case: Any, token: str) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


# Credentials schemathesis knows it set itself, so that its ``ignored_auth`` check also sends
# each request without them, and with wrong ones, expecting a refusal. Cases are made when the
# tests are collected, before any gateway has a tenant: the test puts the real key in.
@kling.auth(refresh_interval=None)
class TenantApiKey:
    def get(self, case: Any, context: Any) -> str:
        return "the tenant's API key, put in by the test"

    def set(self, case: Any, data: str, context: Any) -> None:
        _authorize(case, data)


@admin.auth(refresh_interval=None)
class AdminToken:
    def get(self, case: Any, context: Any) -> str:
        return "admin-token"

    def set(self, case: Any, data: str, context: Any) -> None:
        _authorize(case, data)


_URL = re.compile(r"^https?://[^\s/?#]+[^\s?#]*$")


def _local_channels_only(case: Any) -> None:
    """A fuzzed channel's base_url never leaves the machine (a URL the contract refuses is
    left as it is: it is refused before anything could call it)."""
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("base_url"), str) \
            and _URL.match(body["base_url"]):
        body["base_url"] = CLOSED_PORT_URL


@kling.parametrize()
@HYPOTHESIS_SETTINGS
def test_every_kling_operation_of_the_gateway_honours_the_contract(
        case: Any, gateway: Gateway, api_key: str, sent: Any):
    hypothesis.assume(not asks_for_a_fault(case))
    count(case, sent)
    _authorize(case, api_key)
    case.call_and_validate(base_url=f"{gateway.base_url}/kling", checks=CHECKS, timeout=30)


@admin.parametrize()
@HYPOTHESIS_SETTINGS
def test_every_admin_operation_honours_the_contract(case: Any, gateway: Gateway, sent: Any):
    count(case, sent)
    _local_channels_only(case)
    case.call_and_validate(base_url=f"{gateway.base_url}/admin/v1", checks=CHECKS, timeout=30)
