"""Markers a test writes into a prompt to make the simulator misbehave on purpose (a body without
a prompt carries them in any text).

    #sim-fail      the task is accepted, then ends ``failed`` with a ``task_status_msg``
    #sim-unsafe    the create is refused with 1301 (content safety), HTTP 400
    #sim-500       the create is refused with 5000, HTTP 500
    #sim-503       the create is refused with 5001, HTTP 503
    #sim-crash     the handler raises an unexpected exception (the answer must be a bare 5000)
    #sim-slow      the task is created, but the answer waits ``slow_seconds`` (a client timeout
                   then leaves it unknown whether the task exists)
"""

from __future__ import annotations

import json
from typing import Any

from kling_gateway.domain.errors import ContentSafety, InternalError, KlingError, ServiceUnavailable

FAIL = "#sim-fail"
UNSAFE = "#sim-unsafe"
SLOW = "#sim-slow"
CRASH = "#sim-crash"
FAILED_TASK_MESSAGE = "simulated failure requested by the #sim-fail marker"

_REFUSALS: dict[str, type[KlingError]] = {
    UNSAFE: ContentSafety,
    "#sim-500": InternalError,
    "#sim-503": ServiceUnavailable,
}


def prompt_of(body: dict[str, Any]) -> str:
    """Where markers are read: the prompt, or for a family without one (try-on, effects) every
    text of the body, e.g. an image URL's fragment (``https://x/a.png#sim-fail``)."""
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        return prompt
    return json.dumps(body, ensure_ascii=False) if "prompt" not in body else ""


def refusal_for(body: dict[str, Any]) -> KlingError | None:
    """The error a marked create is refused with, if any."""
    prompt = prompt_of(body)
    for marker, error in _REFUSALS.items():
        if marker in prompt:
            return error(f"{error.default_message} (simulated by {marker})")
    return None


def wants_failure(body: dict[str, Any]) -> bool:
    return FAIL in prompt_of(body)


def wants_slow_answer(body: dict[str, Any]) -> bool:
    return SLOW in prompt_of(body)


def crash_if_asked(body: dict[str, Any]) -> None:
    if CRASH in prompt_of(body):
        raise RuntimeError("simulated crash: internals such as /srv/secret.py must not leak")
