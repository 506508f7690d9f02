"""Create, query and list, shared by every task family of the simulator."""

from __future__ import annotations

from typing import Any

from flask import request

from kling_gateway.domain import official_types, rules
from kling_gateway.domain.families import Family
from kling_gateway.simulator.app import current_simulator
from kling_gateway.web.envelope import ok


def create(family: Family, body: dict[str, Any], account: str) -> dict[str, Any]:
    simulator = current_simulator()
    body = official_types.to_official(body)  # Kling takes these forms too
    rules.check(family.value, body)
    simulator.check_model(account, family, body)
    simulator.before_call(create_body=body)
    if family is Family.MULTI_ELEMENTS:
        simulator.selections.check_edit(account, body["session_id"],
                                        str(body.get("duration") or "5"))
    files_url = request.host_url.rstrip("/") + "/files"
    task = simulator.tasks.create(account, family, body, files_url)
    simulator.after_create(body)
    return ok(task.view(full=False))


def get(family: Family, task_id: str, account: str) -> dict[str, Any]:
    simulator = current_simulator()
    simulator.before_call()
    return ok(simulator.tasks.get(account, family, task_id).view())


def page(family: Family, page_num: int, page_size: int, account: str) -> dict[str, Any]:
    simulator = current_simulator()
    simulator.before_call()
    return ok([task.view() for task in simulator.tasks.page(account, family, page_num,
                                                              page_size)])
