"""Puts a request's path in the one shape routing expects, or answers it as unknown.

- Runs of slashes are served as one: clients that join a base URL ending in ``/`` with a path
  starting with one send ``/v1/images/generations//{id}``, and Connexion's routing would
  otherwise match such a path only halfway and fail without its operation context (a 500).
- A path with a line break, or with a ``.``/``..`` segment, names nothing of ours (clients
  resolve dot segments before sending, so only encoded ones such as ``%2e%2e%2f`` arrive):
  it is answered "no such path" here, before routing could redirect it or match it to an
  ``{id}`` that no task can have (ids never contain ``/`` or consist of dots only).
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from kling_gateway.domain.errors import ResourceNotFound

_SLASHES = re.compile(r"//+")
_RAW_SLASHES = re.compile(rb"//+")
_LINE_BREAKS = ("\n", "\r", "\u2028", "\u2029")
_DOT_SEGMENTS = (".", "..")


class PathGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = _guarded(scope)
        await self.app(scope, receive, send)


def _guarded(scope: Scope) -> Scope:
    path: str = scope["path"]
    if "//" in path:
        scope = {**scope, "path": _SLASHES.sub("/", path)}
        if scope.get("raw_path"):
            scope["raw_path"] = _RAW_SLASHES.sub(b"/", scope["raw_path"])
        path = scope["path"]
    if any(c in path for c in _LINE_BREAKS) or ("." in path and any(
            segment in _DOT_SEGMENTS for segment in path.split("/"))):
        raise ResourceNotFound("requested resource does not exist: no such path")
    return scope
