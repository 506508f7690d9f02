"""Schemathesis fuzzes every operation of ``openapi/kling.yaml`` against a live simulator.

For each operation the schema's own examples, the coverage phase (boundary values, missing and
mistyped fields, unexpected methods and content types) and a bounded, derandomized fuzzing phase
generate valid (positive) and schema-violating (negative) requests. Each request carries a freshly
signed JWT. Every answer must honour the contract: never a 5xx, a documented status code,
``application/json``, a body that matches the response schema and the official envelope; negative
data must be refused with a 4xx, and an operation must not answer 2xx without a valid token.

The run is the same every time: fixed seed, derandomized Hypothesis, no example database.
"""

from __future__ import annotations

from collections.abc import Iterator

import hypothesis
import pytest

from kling_gateway import kling_jwt
from kling_gateway.simulator.app import create_simulator_app
from kling_gateway.simulator.settings import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_SECRET_KEY,
    SimulatorSettings,
)
from tests.support.fuzzing import (
    CHECKS,
    HYPOTHESIS_SETTINGS,
    SEED,
    asks_for_a_fault,
    count,
    load_schema,
    sent,
)
from tests.support.server import serve

pytestmark = pytest.mark.slow
__all__ = ["sent"]  # a fixture

MAX_EXAMPLES = 30
"""Fuzzing-phase examples per operation (examples and coverage phases add their own cases)."""

SETTINGS = SimulatorSettings(
    concurrency=10_000,  # fuzzed creates must not all run into 1303 (too many running tasks)
    task_seconds=1.0,  # tasks finish during the run, so answers also carry task_result
    ticker_seconds=None,  # tasks advance when a request looks at them (real clock)
    slow_seconds=0.0,
    seed=SEED,
)

schema = load_schema("kling.yaml", MAX_EXAMPLES)


@schema.auth(refresh_interval=None)
class FreshKlingJwt:
    """A new token for every request, as the official SDKs sign one per call."""

    def get(self, case, context) -> str:
        return kling_jwt.sign(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)

    def set(self, case, data: str, context) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    app, simulator = create_simulator_app(SETTINGS)
    # Fuzzed callback_urls (and the spec's example.com one) must not be called for real.
    simulator.tasks.on_change = lambda change: None
    try:
        with serve(app) as url:
            yield url
    finally:
        simulator.close()


@schema.parametrize()
@HYPOTHESIS_SETTINGS
def test_every_operation_honours_the_contract(case, base_url: str, sent):
    hypothesis.assume(not asks_for_a_fault(case))
    count(case, sent)
    case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=30)
