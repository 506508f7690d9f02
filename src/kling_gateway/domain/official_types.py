"""The official type of each task-body field that Kling also takes in another form.

Kling's own examples send ``"n": "9"``, ``"multi_shot": "true"`` and ``"element_id": "160"``, and
public clients send ``"duration": 5``. The contract (``openapi/kling.yaml``) accepts exactly those
forms (``anyOf``) and refuses anything else with 1201. ``to_official`` turns an accepted body's
other forms into the official type once, before anything reads the body, so that the rules, the
price, the stored body and the upstream each see one type per field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Convert = Callable[[Any], Any]
EACH = "[]"
"""A path step meaning "every item of this list"."""
_DIGITS = re.compile(r"[0-9]+")


def _integer(value: Any) -> Any:
    return int(value) if isinstance(value, str) and _DIGITS.fullmatch(value) else value


def _string(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _boolean(value: Any) -> Any:
    return {"true": True, "false": False}.get(value, value) if isinstance(value, str) else value


OFFICIAL_TYPES: tuple[tuple[tuple[str, ...], Convert], ...] = (
    (("n",), _integer),
    (("duration",), _string),
    (("multi_shot",), _boolean),
    (("multi_prompt", EACH, "duration"), _string),
    (("element_list", EACH, "element_id"), _integer),
)
"""Field path → its official type. The same names mean the same thing in all six task families
(``duration`` is a video length in seconds wherever it appears); a value in neither form is left
as it is (the contract refused it before this runs)."""


def to_official(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with every field of ``OFFICIAL_TYPES`` in its official type; the caller's dict
    is left as it was, and the key order is kept (the upstream gets the fields as sent)."""
    for path, convert in OFFICIAL_TYPES:
        body = _converted(body, path, convert)
    return body


def _converted(value: Any, path: tuple[str, ...], convert: Convert) -> Any:
    if not path:
        return convert(value)
    step, rest = path[0], path[1:]
    if step == EACH:
        return [_converted(item, rest, convert) for item in value] \
            if isinstance(value, list) else value
    if isinstance(value, dict) and step in value:
        return {**value, step: _converted(value[step], rest, convert)}
    return value
