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

import collections
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from kling_gateway import kling_jwt
from kling_gateway.simulator.app import create_simulator_app
from kling_gateway.simulator.settings import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_SECRET_KEY,
    SimulatorSettings,
)
from tests.support.server import serve

pytestmark = pytest.mark.slow

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "kling.yaml"
SEED = 20240804
MAX_EXAMPLES = 30
"""Fuzzing-phase examples per operation (examples and coverage phases add their own cases)."""

FAULT_MARKERS = ("#sim-500", "#sim-503", "#sim-crash", "#sim-slow")
"""Prompts carrying these make the simulator fail or stall on purpose (simulator.controls)."""

SETTINGS = SimulatorSettings(
    concurrency=10_000,  # fuzzed creates must not all run into 1303 (too many running tasks)
    task_seconds=1.0,  # tasks finish during the run, so answers also carry task_result
    ticker_seconds=None,  # tasks advance when a request looks at them (real clock)
    slow_seconds=0.0,
    seed=SEED,
)


def _load_schema() -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_path(SPEC_PATH, config=schemathesis.Config(seed=SEED))
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        deterministic=True,
        database="none",
        # The Authorization header is not a fuzzed parameter: negative mode would otherwise
        # spend most of its budget on missing tokens. The ignored_auth check probes every
        # successful answer without a token and with a bad one instead.
        with_security_parameters=False,
    )
    schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
    return schema


schema = _load_schema()


@schema.auth(refresh_interval=None)
class FreshKlingJwt:
    """A new token for every request, as the official SDKs sign one per call."""

    def get(self, case, context) -> str:
        return kling_jwt.sign(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)

    def set(self, case, data: str, context) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def official_envelope(ctx, response, case) -> None:
    """Every answer is ``{code, message, request_id[, data]}`` in that order: code 0 and data
    exactly on a 2xx, and the request id echoed as ``X-Request-Id``."""
    body = response.json()
    assert isinstance(body, dict), f"the body is not a JSON object: {response.text[:300]!r}"
    assert list(body)[:3] == ["code", "message", "request_id"], f"envelope keys: {list(body)}"
    assert isinstance(body["code"], int), f"code is not an integer: {body['code']!r}"
    assert isinstance(body["message"], str), f"message is not a string: {body['message']!r}"
    if 200 <= response.status_code < 300:
        assert body["code"] == 0, f"HTTP {response.status_code} with code {body['code']}"
        assert "data" in body, f"HTTP {response.status_code} without data"
    else:
        assert body["code"] != 0, f"HTTP {response.status_code} with code 0"
        assert "data" not in body, f"HTTP {response.status_code} with data"
    echoed = response.headers.get("x-request-id", [])
    assert echoed == [body["request_id"]], (
        f"request_id {body['request_id']!r} but X-Request-Id {echoed!r}")


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
    official_envelope,
]


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


@pytest.fixture
def sent() -> Iterator[collections.Counter]:
    """Counts the requests of one operation's test; every operation must be exercised."""
    counter: collections.Counter = collections.Counter()
    yield counter
    assert counter.total() > 0, "no request was sent for this operation"


def _asks_for_a_fault(case) -> bool:
    prompt = case.body.get("prompt") if isinstance(case.body, dict) else None
    return isinstance(prompt, str) and any(marker in prompt for marker in FAULT_MARKERS)


@schema.parametrize()
@hypothesis.settings(
    deadline=None,
    database=None,
    derandomize=True,
    # `sent` deliberately spans all the examples of one operation.
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
def test_every_operation_honours_the_contract(case, base_url: str, sent: collections.Counter):
    hypothesis.assume(not _asks_for_a_fault(case))
    sent[case.meta.generation.mode.value if case.meta else "positive"] += 1
    case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=30)
