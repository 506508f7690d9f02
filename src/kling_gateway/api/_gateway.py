"""What every Kling-API handler needs: the gateway's context and the authenticated caller."""

from __future__ import annotations

from typing import Any

from flask import current_app

from kling_gateway.domain.families import Family
from kling_gateway.services import submit, tasks
from kling_gateway.services.auth import Caller
from kling_gateway.services.context import GatewayContext
from kling_gateway.services.views import task_view
from kling_gateway.upstream.channels import Upstreams
from kling_gateway.web.envelope import ok

Answer = dict[str, Any]


def context() -> GatewayContext:
    return current_app.config["KLING_GATEWAY"]


def upstreams() -> Upstreams:
    return context().upstreams


def caller_of(token_info: dict[str, Any]) -> Caller:
    return token_info["caller"]


def create(family: Family, body: dict[str, Any], token_info: dict[str, Any]) -> Answer:
    outcome = submit.submit(context(), caller_of(token_info), family, body)
    return ok(task_view(outcome.task, full=False))


def get(family: Family, task_id: str, token_info: dict[str, Any]) -> Answer:
    return ok(task_view(tasks.find(context(), caller_of(token_info), family, task_id)))


def page(family: Family, page_num: int, page_size: int, token_info: dict[str, Any]) -> Answer:
    found = tasks.page(caller_of(token_info), family, page_num, page_size)
    return ok([task_view(task) for task in found])
