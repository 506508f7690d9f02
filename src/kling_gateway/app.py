"""The gateway application: storage bound from settings, then the APIs mounted on one app.

The official Kling API is served twice, at ``/kling/v1/...`` and at ``/v1/...``, so a client's
base URL can be ``https://host/kling`` or ``https://host``; the admin API lives at ``/admin/v1``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from connexion import FlaskApp
from connexion.middleware import MiddlewarePosition

from kling_gateway.config import Settings
from kling_gateway.domain.errors import AuthenticationFailed
from kling_gateway.services.auth import authenticate, authenticate_admin
from kling_gateway.services.context import GatewayContext
from kling_gateway.services.limits import RequestRateLimit
from kling_gateway.services.upstreams import Upstreams
from kling_gateway.storage.db import open_database
from kling_gateway.storage.encryption import configure_keyring
from kling_gateway.storage.migrations import migrate
from kling_gateway.web.access import AccessMiddleware
from kling_gateway.web.app import mount_api, new_app
from kling_gateway.web.body_limit import BodyLimitMiddleware
from kling_gateway.web.ops import OpsEndpoints

KLING_BASE_PATHS = ("/kling", "")
ADMIN_BASE_PATH = "/admin/v1"
CALLBACKS_BASE_PATH = "/kling-gateway"


def _kling_caller(authorization: str | None, rate_limit: RequestRateLimit) -> dict[str, Any]:
    """Every Kling-API request passes here: authenticated, then counted against its token's
    request rate (1302 over it)."""
    caller = authenticate(authorization)
    rate_limit.check(caller.token_id)
    return {"sub": str(caller.user_id), "caller": caller}


def _no_credentials(authorization: str | None) -> dict[str, Any]:
    raise AuthenticationFailed("this API takes no credentials")  # its operations need none


def create_app(settings: Settings | None = None, *, upstreams: Upstreams | None = None,
               rate_limit: RequestRateLimit | None = None,
               validate_responses: bool = False) -> FlaskApp:
    """Opens and migrates the database, then serves the Kling API and the admin API."""
    settings = settings or Settings.from_env()
    configure_keyring(settings)
    open_database(settings.database_url)
    migrate()
    app = new_app(__name__)
    app.add_middleware(AccessMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(OpsEndpoints, position=MiddlewarePosition.BEFORE_SWAGGER)  # /healthz …
    app.add_middleware(BodyLimitMiddleware, position=MiddlewarePosition.BEFORE_SECURITY,
                       max_bytes=settings.max_body_bytes)
    upstreams = upstreams or Upstreams.from_settings(settings)
    app.app.config["KLING_GATEWAY"] = GatewayContext(settings, upstreams)
    rate_limit = rate_limit or RequestRateLimit.from_settings(settings)
    for base_path in KLING_BASE_PATHS:
        mount_api(app, spec_name="kling.yaml", base_path=base_path,
                  handlers="kling_gateway.api",
                  authenticate=partial(_kling_caller, rate_limit=rate_limit),
                  validate_responses=validate_responses)
    mount_api(app, spec_name="callbacks.yaml", base_path=CALLBACKS_BASE_PATH,
              handlers="kling_gateway.api", authenticate=_no_credentials,
              validate_responses=validate_responses, docs_path="")
    mount_api(app, spec_name="admin.yaml", base_path=ADMIN_BASE_PATH,
              handlers="kling_gateway.api.admin",
              authenticate=partial(authenticate_admin, admin_token=settings.admin_token),
              validate_responses=validate_responses, docs_path="")
    return app
