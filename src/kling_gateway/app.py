"""The gateway application: storage bound from settings, then the APIs mounted on one app."""

from __future__ import annotations

from functools import partial

from connexion import FlaskApp

from kling_gateway.config import Settings
from kling_gateway.services.auth import authenticate_admin
from kling_gateway.storage.db import open_database
from kling_gateway.storage.migrations import migrate
from kling_gateway.web.app import mount_api, new_app

ADMIN_BASE_PATH = "/admin/v1"


def create_app(settings: Settings | None = None, *, validate_responses: bool = False) -> FlaskApp:
    """Opens and migrates the database, then serves the admin API at ``/admin/v1``."""
    settings = settings or Settings.from_env()
    open_database(settings.database_url)
    migrate()
    app = new_app(__name__)
    mount_api(app, spec_name="admin.yaml", base_path=ADMIN_BASE_PATH,
              handlers="kling_gateway.api.admin",
              authenticate=partial(authenticate_admin, admin_token=settings.admin_token),
              validate_responses=validate_responses, docs_path="")
    return app
