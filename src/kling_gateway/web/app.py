"""Builds a Connexion app that serves the Kling contract with one set of handlers.

The simulator and the gateway differ only in the handler package the ``operationId``s resolve
into and in how a bearer token is authenticated; everything else (validation, the error
envelope, request ids, Swagger UI) is the same and is set up here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from connexion import FlaskApp
from connexion.jsonifier import Jsonifier
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import RelativeResolver
from connexion.security import AbstractSecurityHandler

from kling_gateway.web import errors
from kling_gateway.web.envelope import to_json
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


class _CompactJsonifier(Jsonifier):
    """Kling answers compact JSON with the envelope's keys in their documented order."""

    def dumps(self, data: Any, **kwargs: Any) -> str:
        return to_json(data)


def build_app(
    import_name: str,
    *,
    handlers: str,
    authenticate: Authenticate,
    base_paths: Iterable[str] = ("",),
    validate_responses: bool = False,
    spec_name: str = "kling.yaml",
) -> FlaskApp:
    """A FlaskApp serving ``spec_name`` at each base path with handlers from ``handlers``."""
    app = FlaskApp(import_name)
    app.add_middleware(RequestIdMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    errors.install(app)
    for base_path in base_paths:
        app.add_api(
            load_spec(spec_name),
            base_path=base_path,
            name=f"kling{base_path.replace('/', '_')}",
            resolver=RelativeResolver(handlers),
            validate_responses=validate_responses,
            pythonic_params=True,
            jsonifier=_CompactJsonifier(),
            validator_map=kling_validator_map(),
            security_map={"bearer": lambda: _BearerHandler(authenticate)},
            swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/v1/ui",
                                                spec_path="/v1/openapi.json"),
        )
    return app
