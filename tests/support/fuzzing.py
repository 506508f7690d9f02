"""What every schemathesis run of ours shares: a derandomized configuration and the checks,
the official envelope among them. The run is the same every time: fixed seed, derandomized
Hypothesis, no example database."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

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

from kling_gateway.web.spec import load_spec

SEED = 20240804
FAULT_MARKERS = ("#sim-500", "#sim-503", "#sim-crash", "#sim-slow")
"""Prompts carrying these make the simulator fail or stall on purpose (simulator.controls)."""


def load_schema(name: str, max_examples: int) -> schemathesis.BaseSchema:
    """``openapi/{name}``, bundled as the servers serve it, with examples, coverage and
    ``max_examples`` fuzzed cases per operation, valid and schema-violating."""
    schema = schemathesis.openapi.from_dict(load_spec(name), config=schemathesis.Config(seed=SEED))
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=max_examples,
        deterministic=True,
        database="none",
        # The Authorization header is not a fuzzed parameter: negative mode would otherwise
        # spend most of its budget on missing tokens. The ignored_auth check probes every
        # successful answer without a token and with a bad one instead.
        with_security_parameters=False,
        # Like Kling, the gateway ignores query parameters it does not know (and the Kling
        # API's bodies admit fields the contract does not name): they are not errors.
        allow_extra_parameters=False,
    )
    schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
    return schema


def official_envelope(ctx: Any, response: Any, case: Any) -> None:
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

HYPOTHESIS_SETTINGS = hypothesis.settings(
    deadline=None,
    database=None,
    derandomize=True,
    # `sent` deliberately spans all the examples of one operation.
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def sent() -> Iterator[collections.Counter]:
    """Counts the requests of one operation's test; every operation must be exercised."""
    counter: collections.Counter = collections.Counter()
    yield counter
    assert counter.total() > 0, "no request was sent for this operation"


def count(case: Any, sent: collections.Counter) -> None:
    sent[case.meta.generation.mode.value if case.meta else "positive"] += 1


def asks_for_a_fault(case: Any) -> bool:
    prompt = case.body.get("prompt") if isinstance(case.body, dict) else None
    return isinstance(prompt, str) and any(marker in prompt for marker in FAULT_MARKERS)
