"""The body-limit middleware on its own: declared lengths, streamed bytes, other scopes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kling_gateway.domain.errors import InvalidParameter
from kling_gateway.web.body_limit import BodyLimitMiddleware

LIMIT = 100


class ReadingApp:
    """An inner app that reads the whole body, as a handler would."""

    def __init__(self) -> None:
        self.body = b""
        self.called = False

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        self.called = True
        more = True
        while more:
            message = await receive()
            self.body += message.get("body", b"")
            more = message.get("more_body", False)


def run(chunks: list[bytes], headers: list[tuple[bytes, bytes]] = (),
        scope_type: str = "http") -> ReadingApp:
    inner = ReadingApp()
    messages = [{"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
                for i, chunk in enumerate(chunks)]

    async def receive() -> dict:
        return messages.pop(0)

    async def send(message: dict) -> None:
        raise AssertionError("the middleware never answers by itself")

    scope = {"type": scope_type, "headers": list(headers)}
    asyncio.run(BodyLimitMiddleware(inner, max_bytes=LIMIT)(scope, receive, send))
    return inner


def test_a_declared_length_over_the_limit_is_refused_before_the_app_runs():
    with pytest.raises(InvalidParameter, match=f"limit of {LIMIT} bytes") as refused:
        run([b"x"], headers=[(b"content-length", b"101")])
    assert refused.value.code == 1201 and refused.value.status == 400


def test_streamed_bytes_are_counted_and_refused_past_the_limit():
    with pytest.raises(InvalidParameter, match=f"limit of {LIMIT} bytes"):
        run([b"x" * 60, b"x" * 41])


def test_a_body_at_the_limit_reaches_the_app_whole():
    assert run([b"x" * 60, b"x" * 40], headers=[(b"content-length", b"100")]).body == b"x" * 100


def test_an_unparseable_length_is_left_to_the_server_and_the_bytes_still_counted():
    assert run([b"x" * 10], headers=[(b"content-length", b"ten")]).body == b"x" * 10
    with pytest.raises(InvalidParameter):
        run([b"x" * 101], headers=[(b"content-length", b"ten")])


def test_other_scopes_pass_untouched():
    assert run([b"x" * 500], scope_type="websocket").body == b"x" * 500
