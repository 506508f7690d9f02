"""Renders every failure as the official envelope; registered on each Connexion app we build.

Foreign failures (Connexion problems, Starlette routing errors, unexpected exceptions) are
translated to a ``KlingError`` here, once, and rendered by the same function.
"""

from __future__ import annotations

import logging

from connexion import FlaskApp
from connexion.exceptions import (
    BadRequestProblem,
    ProblemException,
    Unauthorized,
    UnsupportedMediaTypeProblem,
)
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from kling_gateway.domain.errors import (
    AuthenticationFailed,
    InternalError,
    InvalidMethod,
    InvalidParameter,
    InvalidRequest,
    KlingError,
    PermissionDenied,
    ResourceNotFound,
    error_for_code,
)
from kling_gateway.web.envelope import error_body, to_json

log = logging.getLogger(__name__)


def render(error: KlingError) -> ConnexionResponse:
    return ConnexionResponse(status_code=error.status, mimetype="application/json",
                             body=to_json(error_body(error)))


def translate(exc: Exception) -> KlingError:
    """The official error for anything raised while serving a request."""
    if isinstance(exc, KlingError):
        return exc
    if isinstance(exc, UnsupportedMediaTypeProblem):
        return InvalidRequest(f"Content-Type must be application/json ({exc.detail})")
    if isinstance(exc, BadRequestProblem):
        return InvalidParameter(str(exc.detail))
    if isinstance(exc, Unauthorized):
        return AuthenticationFailed(str(exc.detail or "authentication failed"))
    if isinstance(exc, ProblemException | HTTPException):
        return _from_status(getattr(exc, "status_code", 500), str(getattr(exc, "detail", "")))
    return InternalError()


def _from_status(status: int, detail: str) -> KlingError:
    if status == 404:
        return ResourceNotFound("requested resource does not exist: no such path")
    if status == 405:
        return InvalidMethod("invalid request method for this path")
    if status == 403:
        return PermissionDenied()
    if 400 <= status < 500:
        return InvalidRequest(detail or "invalid request")
    return error_for_code(5000)


def handle(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    error = translate(exc)
    if error.status >= 500:
        if error is exc:  # ours: the message is ours too
            log.error("request failed: %r", error)
        else:  # the traceback's messages are cut short (logs.format_exception): data may hide there
            log.error("request failed: %s", type(exc).__name__, exc_info=exc)
    return render(error)


def install(app: FlaskApp) -> None:
    """Route every failure through ``handle`` (never problem+json, never HTML)."""
    for kind in (Exception, KlingError, ProblemException, HTTPException, 404, 405):
        app.add_error_handler(kind, handle)
