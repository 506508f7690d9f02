"""A request body above KLING_GATEWAY_MAX_BODY_BYTES is refused with 1201 / HTTP 400 and a
message naming the limit, whether it declares its length or streams it; one at the limit is
served normally."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
import requests

from tests.support.gateway import Gateway, start_gateway

LIMIT = 4096
T2V = "/kling/v1/videos/text2video"


@pytest.fixture
def small_limit_gateway(database_url: str) -> Iterator[Gateway]:
    with ExitStack() as stack:
        running = start_gateway(database_url, stack, max_body_bytes=LIMIT)
        yield running
        running.assert_books_balance()


def body_of_size(size: int) -> bytes:
    """A valid text2video body of exactly ``size`` bytes, padded with a field unknown to the
    contract (forwarded as is, like any future Kling parameter)."""
    bare = json.dumps({"prompt": "a cat", "padding": ""}, separators=(",", ":")).encode()
    body = json.dumps({"prompt": "a cat", "padding": "x" * (size - len(bare))},
                      separators=(",", ":")).encode()
    assert len(body) == size
    return body


def post(gateway: Gateway, api_key: str, data: object) -> requests.Response:
    return requests.post(f"{gateway.base_url}{T2V}", data=data, timeout=30,
                         headers={"Authorization": f"Bearer {api_key}",
                                  "Content-Type": "application/json"})


def assert_refused_for_size(answer: requests.Response) -> None:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["code"] == 1201
    assert f"limit of {LIMIT} bytes" in body["message"]
    assert body["request_id"] == answer.headers["X-Request-Id"]


def test_a_body_one_byte_over_the_limit_is_refused_with_1201(small_limit_gateway):
    small_limit_gateway.add_upstream("sim")
    ada = small_limit_gateway.tenant("ada")

    answer = post(small_limit_gateway, ada.issued.api_key, body_of_size(LIMIT + 1))

    assert_refused_for_size(answer)
    assert ada.balance == 1000 * 10_000  # nothing was charged
    assert small_limit_gateway.charges() == []


def test_a_body_exactly_at_the_limit_is_served(small_limit_gateway):
    small_limit_gateway.add_upstream("sim")
    ada = small_limit_gateway.tenant("ada")

    answer = post(small_limit_gateway, ada.issued.api_key, body_of_size(LIMIT))

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["task_status"] == "submitted"


def _streamed(body: bytes) -> Iterator[bytes]:
    """``body`` sent without a Content-Length (requests then uses Transfer-Encoding: chunked)."""
    return (body[start:start + 1000] for start in range(0, len(body), 1000))


def test_a_streamed_body_over_the_limit_is_refused_as_it_arrives(small_limit_gateway):
    small_limit_gateway.add_upstream("sim")
    ada = small_limit_gateway.tenant("ada")

    answer = post(small_limit_gateway, ada.issued.api_key, _streamed(body_of_size(3 * LIMIT)))

    assert answer.request.headers.get("Transfer-Encoding") == "chunked"
    assert_refused_for_size(answer)
    assert small_limit_gateway.upstreams[0].jobs() == []
    assert small_limit_gateway.charges() == []


def test_a_streamed_body_within_the_limit_is_served_like_any_other(small_limit_gateway):
    """Clients stream bodies whose size they do not know in advance (Go's http with an
    io.Reader, Node without a length): Kling serves them, and so does the gateway."""
    upstream = small_limit_gateway.add_upstream("sim")
    ada = small_limit_gateway.tenant("ada")
    body = body_of_size(LIMIT)

    answer = post(small_limit_gateway, ada.issued.api_key, _streamed(body))

    assert answer.request.headers.get("Transfer-Encoding") == "chunked"
    assert answer.status_code == 200, answer.text
    (job,) = upstream.jobs()
    assert job.body["padding"] == json.loads(body)["padding"]
    assert len(small_limit_gateway.charges()) == 1


def test_the_limit_is_checked_before_credentials(small_limit_gateway):
    answer = post(small_limit_gateway, "not-a-key", body_of_size(LIMIT + 1))
    assert_refused_for_size(answer)


def test_the_default_gateway_takes_a_body_far_above_a_small_limit(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    answer = post(gateway, ada.issued.api_key, body_of_size(3 * LIMIT))
    assert answer.status_code == 200, answer.text
