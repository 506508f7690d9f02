"""Handlers of the ``voices`` tag beside the custom voice task family: the preset list and
deletion."""

from __future__ import annotations

from typing import Any

from flask import request

from kling_gateway.domain.owned import Resource
from kling_gateway.simulator import owned
from kling_gateway.simulator.app import current_simulator
from kling_gateway.web.envelope import ok

Answer = dict[str, Any]


def files_url() -> str:
    return request.host_url.rstrip("/") + "/files"


def list_preset_voices(user: str, page_num: int = 1, page_size: int = 30) -> Answer:
    simulator = current_simulator()
    simulator.before_call()
    return ok(simulator.presets.page(Resource.VOICE, files_url(), page_num, page_size))


def delete_voice(body: dict, user: str) -> Answer:
    return delete(Resource.VOICE, str(body["voice_id"]), user)


def delete(resource: Resource, object_id: str, account: str) -> Answer:
    simulator = current_simulator()
    simulator.before_call()
    owned.check_own(simulator, account, resource, object_id)
    simulator.tasks.delete(account, resource, object_id)
    return ok({"task_id": simulator.tasks.new_id(), "task_status": "succeed"})
