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
FieldTypes = tuple[tuple[tuple[str, ...], Convert], ...]
EACH = "[]"
"""A path step meaning "every item of this list"."""
_DIGITS = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


def _integer(value: Any) -> Any:
    return int(value) if isinstance(value, str) and _DIGITS.fullmatch(value) else value


def _string(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _number(value: Any) -> Any:
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return float(value) if "." in value else int(value)
    return value


def _boolean(value: Any) -> Any:
    return {"true": True, "false": False}.get(value, value) if isinstance(value, str) else value


OFFICIAL_TYPES: FieldTypes = (
    (("n",), _integer),
    (("duration",), _string),
    (("multi_shot",), _boolean),
    (("multi_prompt", EACH, "duration"), _string),
    (("element_list", EACH, "element_id"), _integer),
)
"""Field path → its official type, for the families whose ``duration`` is a video length in
seconds (a string); a value in neither form is left as it is (the contract refused it before
this runs)."""
EFFECT_TYPES = (*OFFICIAL_TYPES, (("input", "duration"), _string))
"""Effects keep their video length inside ``input``."""
SOUND_TYPES: FieldTypes = ((("duration",), _number),)
"""A generated sound's ``duration`` is a number of seconds, with one decimal at most."""


def to_official(body: dict[str, Any],
                types: FieldTypes = OFFICIAL_TYPES
                ) -> dict[str, Any]:
    """``body`` with every field of ``OFFICIAL_TYPES`` in its official type; the caller's dict
    is left as it was, and the key order is kept (the upstream gets the fields as sent)."""
    for path, convert in types:
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
