"""Create, query and list, for every task family of the simulator (``domain.families``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request

from kling_gateway.domain import official_types
from kling_gateway.domain.families import TaskFamily, Verb
from kling_gateway.domain.owned import Resource
from kling_gateway.simulator import owned, sources
from kling_gateway.simulator.app import Simulator, current_simulator
from kling_gateway.web.envelope import ok

Answer = dict[str, Any]


def handler(family: TaskFamily, verb: Verb) -> Callable[..., Answer]:
    """The function Connexion calls for ``verb`` of ``family`` (see ``web.mounting``)."""

    def create_(body: dict, user: str) -> Answer:
        return create(family, body, user)

    def list_(user: str, page_num: int = 1, page_size: int = 30) -> Answer:
        return page(family, page_num, page_size, user)

    def get_(id_: str, user: str) -> Answer:
        return get(family, id_, user)

    return {Verb.CREATE: create_, Verb.LIST: list_, Verb.GET: get_}[verb]


def create(family: TaskFamily, body: dict[str, Any], account: str) -> Answer:
    simulator = current_simulator()
    body = official_types.to_official(body, family.typed_fields)  # Kling takes these forms too
    family.check(body)
    simulator.check_model(account, family, body)
    simulator.before_call(create_body=body)
    for field_name, resource, object_id in family.objects_named(body):
        _OWNED_CHECKS[resource](simulator, account, field_name, object_id, body)
    parent = sources.parent_of(simulator.tasks, account, family, body, simulator.faces)
    files_url = request.host_url.rstrip("/") + "/files"
    task = simulator.tasks.create(account, family, body, files_url, parent)
    simulator.after_create(body)
    return ok(task.view(full=False))


def _check_session(simulator: Simulator, account: str, field_name: str, session_id: str,
                   body: dict[str, Any]) -> None:
    simulator.selections.check_edit(account, session_id, str(body.get("duration") or "5"))


def _check_face_session(simulator: Simulator, account: str, field_name: str,
                        session_id: str, body: dict[str, Any]) -> None:
    simulator.faces.check_choice(account, body)


_OWNED_CHECKS: dict[Resource, Callable[[Simulator, str, str, str, dict[str, Any]], None]] = {
    Resource.SELECTION_SESSION: _check_session,
    Resource.FACE_SESSION: _check_face_session,
    **owned.CHECKS,
}
"""How the account's ownership of each kind of object a body names is checked."""


def get(family: TaskFamily, task_id: str, account: str) -> Answer:
    simulator = current_simulator()
    simulator.before_call()
    return ok(simulator.tasks.get(account, family, task_id).view())


def page(family: TaskFamily, page_num: int, page_size: int, account: str) -> Answer:
    simulator = current_simulator()
    simulator.before_call()
    return ok([task.view() for task in simulator.tasks.page(account, family, page_num,
                                                              page_size)])
