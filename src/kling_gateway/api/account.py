"""Handlers of the ``account`` tag: the caller's gateway balance as Kling's resource pack."""

from __future__ import annotations

from typing import Any

from kling_gateway.api._gateway import Answer, caller_of
from kling_gateway.services import accounts
from kling_gateway.services.views import balance_as_resource_pack
from kling_gateway.web.envelope import ok


def get_costs(token_info: dict[str, Any], start_time: int, end_time: int,
              resource_pack_name: str | None = None) -> Answer:
    caller = caller_of(token_info)
    pack = balance_as_resource_pack(caller.user_id, accounts.balance_summary(caller.user_id))
    packs = [pack] if resource_pack_name in (None, "", pack["resource_pack_name"]) else []
    return ok({"code": 0, "msg": "success", "resource_pack_subscribe_infos": packs})
