"""Handlers of the ``summary`` tag."""

from __future__ import annotations

from typing import Any

from kling_gateway.services import accounts
from kling_gateway.services.views import summary_view
from kling_gateway.web.envelope import ok

Answer = dict[str, Any]


def get_summary() -> Answer:
    return ok(summary_view(accounts.summary()))
