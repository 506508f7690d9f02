"""Handlers of the ``ledger`` tag."""

from __future__ import annotations

from typing import Any

from kling_gateway.services import accounts
from kling_gateway.services.views import ledger_entry_view
from kling_gateway.web.envelope import ok

Answer = dict[str, Any]


def list_entries(name: str, page_num: int = 1, page_size: int = 30) -> Answer:
    entries = accounts.ledger_page(name, page_num, page_size)
    return ok([ledger_entry_view(entry) for entry in entries])
