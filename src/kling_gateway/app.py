"""The gateway application: storage bound from settings, then the APIs mounted on one app.

The official Kling API is served twice, at ``/kling/v1/...`` and at ``/v1/...``, so a client's
base URL can be ``https://host/kling`` or ``https://host``; the admin API lives at ``/admin/v1``.

A request touches the database on two threads: a worker thread of the event loop authenticates
it, then a Flask thread handles it. Each hands its pooled PostgreSQL connection back when its
part is done (``storage.db.release_connection``), so a process holds at most the pool's size.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from connexion import FlaskApp
from connexion.middleware import MiddlewarePosition
from starlette.concurrency import run_in_threadpool

from kling_gateway.config import Settings
from kling_gateway.domain.errors import AuthenticationFailed
from kling_gateway.services.auth import (
    Caller,
    authenticate,
    authenticate_admin,
    authenticate_from_cache,
)
from kling_gateway.services.context import GatewayContext
from kling_gateway.services.limits import RequestRateLimit
from kling_gateway.services.token_cache import tokens
from kling_gateway.storage.channel_book import StoredChannelBook
from kling_gateway.storage.db import open_database, release_connection, releasing_connection
from kling_gateway.storage.encryption import configure_keyring
from kling_gateway.storage.migrations import migrate
from kling_gateway.upstream.channels import Upstreams
from kling_gateway.web.access import AccessMiddleware
from kling_gateway.web.body_limit import BodyLimitMiddleware
from kling_gateway.web.mounting import mount_api, new_app
from kling_gateway.web.ops import OpsEndpoints

KLING_BASE_PATHS = ("/kling", "")
ADMIN_BASE_PATH = "/admin/v1"
CALLBACKS_BASE_PATH = "/kling-gateway"


async def _kling_caller(authorization: str | None,
                        rate_limit: RequestRateLimit) -> dict[str, Any]:
    """Every Kling-API request passes here. Connexion calls its security hook on the event loop,
    so only work that waits on nothing runs here: a token read a moment ago (``token_cache``)
    with an in-process rate limit. Anything else goes to a thread, because it waits on the
    database (or Redis): a loop blocked waiting for a pooled connection could not deliver the
    responses whose threads would hand one back."""
    if not rate_limit.is_shared:
        caller = authenticate_from_cache(authorization)
        if caller is not None:
            return _counted(caller, rate_limit)
    return await run_in_threadpool(_authenticated_caller, authorization, rate_limit)


@releasing_connection
def _authenticated_caller(authorization: str | None,
                          rate_limit: RequestRateLimit) -> dict[str, Any]:
    """Authenticated from the database, then counted."""
    return _counted(authenticate(authorization), rate_limit)


def _counted(caller: Caller, rate_limit: RequestRateLimit) -> dict[str, Any]:
    """The caller, counted against its token's request rate (1302 over it), as token info."""
    rate_limit.check(caller.token_id)
    return {"sub": str(caller.user_id), "caller": caller}


def _release_after_request(_error: BaseException | None) -> None:
    release_connection()  # the Flask thread's connection, back to the pool after each request


def _no_credentials(authorization: str | None) -> dict[str, Any]:
    raise AuthenticationFailed("this API takes no credentials")  # its operations need none


def create_app(settings: Settings | None = None, *, upstreams: Upstreams | None = None,
               rate_limit: RequestRateLimit | None = None,
               validate_responses: bool = False) -> FlaskApp:
    """Opens and migrates the database, then serves the Kling API and the admin API."""
    settings = settings or Settings.from_env()
    configure_keyring(settings)
    tokens.configure(settings.auth_cache_seconds)
    open_database(settings.database_url, settings.database_limits)
    migrate()
    release_connection()  # this thread goes on to run the event loop, which never queries
    app = new_app(__name__)
    app.app.teardown_appcontext(_release_after_request)
    app.add_middleware(AccessMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(OpsEndpoints, position=MiddlewarePosition.BEFORE_SWAGGER)  # /healthz …
    app.add_middleware(BodyLimitMiddleware, position=MiddlewarePosition.BEFORE_SECURITY,
                       max_bytes=settings.max_body_bytes)
    upstreams = upstreams or Upstreams.from_settings(settings, StoredChannelBook())
    app.app.config["KLING_GATEWAY"] = GatewayContext(settings, upstreams)
    rate_limit = rate_limit or RequestRateLimit.from_settings(settings)
    for base_path in KLING_BASE_PATHS:
        mount_api(app, spec_name="kling.yaml", base_path=base_path,
                  handlers="kling_gateway.api",
                  authenticate=partial(_kling_caller, rate_limit=rate_limit),
                  validate_responses=validate_responses,
                  unknown_fields_limit=settings.max_unknown_fields_bytes)
    mount_api(app, spec_name="callbacks.yaml", base_path=CALLBACKS_BASE_PATH,
              handlers="kling_gateway.api", authenticate=_no_credentials,
              validate_responses=validate_responses, docs_path="")
    mount_api(app, spec_name="admin.yaml", base_path=ADMIN_BASE_PATH,
              handlers="kling_gateway.api.admin",
              authenticate=partial(authenticate_admin, admin_token=settings.admin_token),
              validate_responses=validate_responses, docs_path="")
    return app
