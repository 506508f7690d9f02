"""Refuses request bodies above a size limit with the official 1201 envelope (HTTP 400).

A declared ``Content-Length`` over the limit is refused before a byte of the body is read; a
body without one (chunked) is counted as it arrives and refused as soon as it passes the limit.
The limit's default and its reasoning live with the setting (``config.DEFAULT_MAX_BODY_BYTES``).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kling_gateway.domain.errors import InvalidParameter

MIB = 1024 * 1024


def too_large(limit: int) -> InvalidParameter:
    size = f"{limit} bytes" + (f" ({limit / MIB:.1f} MiB)" if limit >= MIB else "")
    return InvalidParameter(f"invalid request body: larger than the gateway's limit of {size}; "
                            "send large images as URLs")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            raise too_large(self.max_bytes)
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise too_large(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None
