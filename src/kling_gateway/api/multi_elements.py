"""Handlers of the ``multi_elements`` tag: the selection session (its edit task is a family
of ``domain.families``, served by ``api.tasks``)."""

from __future__ import annotations

from typing import Any

from kling_gateway.api._gateway import Answer, caller_of, upstreams
from kling_gateway.services import selections
from kling_gateway.web.envelope import ok

Info = dict[str, Any]


def init_selection(body: dict, token_info: Info) -> Answer:
    return ok(selections.init_selection(upstreams(), caller_of(token_info), body))


def _in_session(operation: str, body: dict, token_info: Info) -> Answer:
    return ok(selections.call_in_session(upstreams(), caller_of(token_info), operation, body))


def add_selection(body: dict, token_info: Info) -> Answer:
    return _in_session("add-selection", body, token_info)


def delete_selection(body: dict, token_info: Info) -> Answer:
    return _in_session("delete-selection", body, token_info)


def clear_selection(body: dict, token_info: Info) -> Answer:
    return _in_session("clear-selection", body, token_info)


def preview_selection(body: dict, token_info: Info) -> Answer:
    return _in_session("preview-selection", body, token_info)
