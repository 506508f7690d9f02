"""Handlers of the ``lip_sync`` tag: identify face (the lip-sync and advanced lip-sync tasks
are families of ``domain.families``, served by ``simulator.api.tasks``)."""

from __future__ import annotations

from typing import Any

from flask import request

from kling_gateway.domain import rules
from kling_gateway.simulator.app import current_simulator
from kling_gateway.web.envelope import ok

IDENTIFY_FACE_UNITS = "0.05"
"""Kling's price of one identify-face call, in units."""


def identify_face(body: dict, user: str) -> dict[str, Any]:
    simulator = current_simulator()
    rules.check("identify-face", body)
    simulator.before_call()
    session = simulator.faces.identify(user, body.get("video_id") or None,
                                       body.get("video_url") or None)
    files_url = request.host_url.rstrip("/") + "/files"
    return ok({"session_id": session.session_id, "final_unit_deduction": IDENTIFY_FACE_UNITS,
               "face_data": session.face_data(files_url)})
