"""Gateway settings, read from the environment in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///kling-gateway.sqlite3"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    """``sqlite:///path`` (default: a file in the working directory) or ``postgresql://…``."""
    admin_token: str | None = None
    """Bearer token of the admin API; the admin API refuses every call while it is unset."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        return cls(
            database_url=environ.get("KLING_GATEWAY_DATABASE_URL") or DEFAULT_DATABASE_URL,
            admin_token=environ.get("KLING_GATEWAY_ADMIN_TOKEN") or None,
        )
