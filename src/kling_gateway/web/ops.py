"""Serves ``openapi/ops.yaml`` (``/healthz``, ``/readyz``, ``/metrics``) in front of Connexion.

Why not ``add_api``: the ops paths live at the root, where the Kling API is also mounted (base
path ``""``). Connexion's router chains two APIs on one base path, but its Swagger UI middleware
does not: the second API hid the first one's ``/v1/ui/`` and ``/v1/openapi.json``. And
``/metrics`` answers ``text/plain; version=0.0.4``, a content type Connexion compares verbatim
with the spec's ``text/plain``. The spec still decides: every GET operation in it is served at
its path by the handler its ``operationId`` names in ``handlers``, resolved at start-up (a
missing handler stops the app, as a Connexion ``ResolverError`` would).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from kling_gateway.domain.errors import InvalidMethod
from kling_gateway.storage.db import releasing_connection
from kling_gateway.web.access import name_operation
from kling_gateway.web.spec import load_spec, operations

Handler = Callable[[], Response]


class OpsEndpoints:
    def __init__(self, app: ASGIApp, spec_name: str = "ops.yaml",
                 handlers: str = "kling_gateway.api") -> None:
        self.app = app
        self.handlers = handlers
        self.routes = {path: (operation_id, _resolve(handlers, operation_id))
                       for method, path, operation_id in operations(load_spec(spec_name))
                       if method == "GET"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        operation_id, handler = route
        name_operation(scope, f"{self.handlers}.{operation_id}")
        if scope["method"] != "GET":
            raise InvalidMethod("invalid request method for this path")
        response = await run_in_threadpool(handler)  # handlers may wait on the database
        await response(scope, receive, send)


def _resolve(package: str, operation_id: str) -> Handler:
    module, _, function = f"{package}.{operation_id}".rpartition(".")
    # These run on the loop's worker threads: each hands its pooled connection back.
    return releasing_connection(getattr(importlib.import_module(module), function))
