"""Answers paths with line breaks as unknown before Connexion routes them.

Connexion's routing patterns use ``.``, which does not match a newline, so such a request slips
past the routing middleware into Flask and fails there without its operation context (a 500).
No resource of ours has a line break in its path, so these are simply not found.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from kling_gateway.domain.errors import ResourceNotFound


class LineBreakPathGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(c in scope["path"] for c in "\n\r\u2028\u2029"):
            raise ResourceNotFound("requested resource does not exist: no such path")
        await self.app(scope, receive, send)
