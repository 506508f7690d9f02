"""The handlers of every task family (``domain.families``): create, query and list.

Connexion finds them through ``web.mounting.FamilyResolver``, which asks ``handler`` for the
function of each ``operationId`` a family entry names; a family needs no module of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kling_gateway.api._gateway import Answer, caller_of, context
from kling_gateway.domain.families import TaskFamily, Verb
from kling_gateway.services import submit, tasks
from kling_gateway.services.views import task_view
from kling_gateway.web.envelope import ok

Info = dict[str, Any]


def handler(family: TaskFamily, verb: Verb) -> Callable[..., Answer]:
    """The function Connexion calls for ``verb`` of ``family``; its parameters are the ones
    Connexion passes (it reads them from the signature)."""

    def create(body: dict, token_info: Info) -> Answer:
        outcome = submit.submit(context(), caller_of(token_info), family, body)
        return ok(task_view(outcome.task, full=False))

    def list_(token_info: Info, page_num: int = 1, page_size: int = 30) -> Answer:
        found = tasks.page(caller_of(token_info), family, page_num, page_size)
        return ok([task_view(task) for task in found])

    def get(id_: str, token_info: Info) -> Answer:
        return ok(task_view(tasks.find(context(), caller_of(token_info), family, id_)))

    return {Verb.CREATE: create, Verb.LIST: list_, Verb.GET: get}[verb]
