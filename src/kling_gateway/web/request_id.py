"""Every response carries a ``request_id``: in the envelope and as the ``X-Request-Id`` header."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-Id"
_request_id: ContextVar[str | None] = ContextVar("kling_request_id", default=None)


def current_request_id() -> str:
    """The id of the request being served (a fresh one outside a request)."""
    request_id = _request_id.get()
    if request_id is None:
        request_id = str(uuid.uuid4())
        _request_id.set(request_id)
    return request_id


class RequestIdMiddleware:
    """Gives each HTTP request an id before anything else runs, so errors raised by routing,
    security or validation carry the same id as the response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        token = _request_id.set(request_id)

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != REQUEST_ID_HEADER.lower().encode()]
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        finally:
            _request_id.reset(token)
