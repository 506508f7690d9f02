"""Builds a Connexion app that serves the Kling contract with one set of handlers.

The simulator and the gateway differ only in the handler package the ``operationId``s resolve
into and in how a bearer token is authenticated; everything else (validation, the error
envelope, request ids, Swagger UI) is the same and is set up here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any

from connexion import FlaskApp
from connexion.jsonifier import Jsonifier
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import RelativeResolver
from connexion.security import AbstractSecurityHandler
from connexion.utils import get_function_from_name

from kling_gateway.domain.families import by_operation
from kling_gateway.web import errors
from kling_gateway.web.envelope import to_json
from kling_gateway.web.path_guard import PathGuard
from kling_gateway.web.request_id import RequestIdMiddleware
from kling_gateway.web.spec import load_spec
from kling_gateway.web.validation import kling_validator_map

Authenticate = Callable[[str | None], dict[str, Any]]
"""Maps the raw ``Authorization`` header to the caller's token info, or raises an AuthError."""


class _BearerHandler(AbstractSecurityHandler):
    """Hands the raw header to the app's authenticator so that it can tell an empty header
    (1001) from a malformed one (1002); Connexion's own bearer handler cannot."""

    def __init__(self, authenticate: Authenticate) -> None:
        self._authenticate = authenticate

    def get_fn(self, security_scheme: dict, required_scopes: list[str]) -> Callable:
        authenticate = self._authenticate

        def verify(request: Any) -> dict[str, Any]:
            return authenticate(request.headers.get("Authorization"))

        return verify


class FamilyResolver(RelativeResolver):
    """Resolves an ``operationId`` of a task family (``domain.families``) to the function that
    the handler package's ``tasks.handler`` builds for the family, and any other one, as
    ``RelativeResolver`` does, to the function of that name in ``handlers``."""

    def __init__(self, handlers: str) -> None:
        super().__init__(handlers, function_resolver=self._function)

    def _function(self, resolved: str) -> Callable[..., Any]:
        served = by_operation(resolved.removeprefix(f"{self.root_path}."))
        if served is None:
            return get_function_from_name(resolved)
        return importlib.import_module(f"{self.root_path}.tasks").handler(*served)


class _CompactJsonifier(Jsonifier):
    """Kling answers compact JSON with the envelope's keys in their documented order."""

    def dumps(self, data: Any, **kwargs: Any) -> str:
        return to_json(data)


def new_app(import_name: str) -> FlaskApp:
    """An app with request ids and the one error envelope, before any API is mounted."""
    app = FlaskApp(import_name)
    app.add_middleware(RequestIdMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(PathGuard, position=MiddlewarePosition.BEFORE_ROUTING)
    errors.install(app)
    return app


def mount_api(
    app: FlaskApp,
    *,
    spec_name: str,
    base_path: str,
    handlers: str,
    authenticate: Authenticate,
    validate_responses: bool = False,
    docs_path: str = "/v1",
    unknown_fields_limit: int | None = None,
) -> None:
    """Serve ``spec_name`` at ``base_path``, resolving each ``operationId`` in ``handlers``
    (``FamilyResolver``);
    Swagger UI and the spec as JSON live under ``base_path + docs_path``. A body may carry at
    most ``unknown_fields_limit`` bytes of fields the spec does not define (None: any)."""
    app.add_api(
        load_spec(spec_name),
        base_path=base_path,
        name=f"{spec_name.split('.')[0]}{base_path.replace('/', '_')}",
        resolver=FamilyResolver(handlers),
        validate_responses=validate_responses,
        pythonic_params=True,
        jsonifier=_CompactJsonifier(),
        validator_map=kling_validator_map(unknown_fields_limit=unknown_fields_limit),
        security_map={"bearer": lambda: _BearerHandler(authenticate)},
        swagger_ui_options=SwaggerUIOptions(swagger_ui_path=f"{docs_path}/ui",
                                            spec_path=f"{docs_path}/openapi.json"),
    )


def build_app(
    import_name: str,
    *,
    handlers: str,
    authenticate: Authenticate,
    base_paths: Iterable[str] = ("",),
    validate_responses: bool = False,
) -> FlaskApp:
    """An app serving the Kling contract at each base path with handlers from ``handlers``."""
    app = new_app(import_name)
    for base_path in base_paths:
        mount_api(app, spec_name="kling.yaml", base_path=base_path, handlers=handlers,
                  authenticate=authenticate, validate_responses=validate_responses)
    return app
