"""One log line and one count per request: operation, status, duration and what services noted.

Requests are labelled by the ``operationId`` Connexion routed them to (``unrouted`` for paths it
does not know), never by the raw path, so that the metrics' label sets stay bounded. The log
line shows the path template (``/kling/v1/videos/text2video/{task_id}``), never the raw path,
which can carry ids and the secret of a callback URL.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from connexion.middleware.abstract import ROUTING_CONTEXT
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kling_gateway import logs, metrics
from kling_gateway.web.request_id import current_request_id

log = logging.getLogger("kling_gateway.access")
UNROUTED = "unrouted"
MAX_LOGGED_PATH = 200
HANDLERS = "kling_gateway.api."


class AccessMiddleware:
    """Wraps the error handling, so it sees the status of every answer, envelopes included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with logs.request_fields() as fields:
            fields["request_id"] = current_request_id()
            exchange = _Exchange(scope, send, fields)
            try:
                await self.app(scope, receive, exchange.send)
            finally:
                exchange.finish()


class _Exchange:
    """One request on its way through: its status, and counting and logging it once."""

    def __init__(self, scope: Scope, send: Send, fields: dict[str, Any]) -> None:
        self.started = time.perf_counter()
        self.scope = scope
        self.fields = fields
        self.status = 500
        self.done = False
        self._send = send
        # Connexion's router records the operation and the path parameters in these two dicts
        # of the scope (it copies the scope, but not the dicts in it).
        self.extensions = scope.setdefault("extensions", {})
        self.path_params = scope.setdefault("path_params", {})

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            self.finish()  # before the last byte leaves: a client never sees an uncounted answer
        await self._send(message)

    def finish(self) -> None:
        if self.done:
            return
        self.done = True
        seconds = time.perf_counter() - self.started
        operation = _operation((self.extensions.get(ROUTING_CONTEXT) or {}).get("operation_id"))
        metrics.request_served(operation or UNROUTED, self.status, seconds)
        method, path = self.scope["method"], self.scope["path"]
        if operation:
            path = path_template(path, self.path_params)
        path = path[:MAX_LOGGED_PATH]
        log.info("%s %s %s", method, path, self.status, extra={"fields": {
            **self.fields, "method": method, "path": path, "operation": operation or UNROUTED,
            "status": self.status, "duration_ms": round(seconds * 1000, 2)}})


def name_operation(scope: Scope, operation_id: str) -> None:
    """Label a request that Connexion does not route (web/ops.py) the way Connexion would."""
    routing = scope.setdefault("extensions", {}).setdefault(ROUTING_CONTEXT, {})
    routing["operation_id"] = operation_id


def _operation(resolved: str | None) -> str | None:
    """``kling_gateway.api.videos.create_text2video`` → ``videos.create_text2video``."""
    return resolved.removeprefix(HANDLERS) if resolved else None


def path_template(path: str, params: dict[str, Any]) -> str:
    """``path`` with each path parameter's segment replaced by ``{name}``, from the end."""
    segments = path.split("/")
    for name, value in params.items():
        for index in range(len(segments) - 1, -1, -1):
            if segments[index] == str(value):
                segments[index] = f"{{{name}}}"
                break
    return "/".join(segments)
