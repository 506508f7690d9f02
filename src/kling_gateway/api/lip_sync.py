"""Handlers of the ``lip_sync`` tag: identify face (its lip-sync and advanced lip-sync tasks
are families of ``domain.families``, served by ``api.tasks``)."""

from __future__ import annotations

from typing import Any

from kling_gateway.api._gateway import Answer, caller_of, upstreams
from kling_gateway.services import faces
from kling_gateway.web.envelope import ok


def identify_face(body: dict, token_info: dict[str, Any]) -> Answer:
    return ok(faces.identify_face(upstreams(), caller_of(token_info), body))
