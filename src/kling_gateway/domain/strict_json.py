"""Reading JSON from a client, refusing what the rest of the gateway could not carry.

Python's ``json`` accepts more than JSON and builds values that fail later, far from the
request and after a charge: ``NaN`` and ``Infinity`` (no JSON encoder will send them upstream),
integers too long to turn back into text, strings holding a lone UTF-16 surrogate (they have no
UTF-8 spelling, so neither the database nor Kling can take them) and nesting deep enough to
overflow any recursive walk. Each is refused here, before anything is written: the text as a
whole with 1200, a value with 1201 naming its field. Every request body is read here
(``web/validation.py``), and so is a price file.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

from kling_gateway.domain.errors import InvalidParameter, InvalidRequest, KlingError

MAX_DEPTH = 64
"""Arrays and objects nested deeper than this are refused. Kling's bodies nest four levels."""
MAX_INTEGER_DIGITS = 100
"""Longer integer literals are refused: Python will not print one of over 4,300 digits, and
no field of Kling's takes a number anywhere near 100 digits."""

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""A surrogate can only come from a ``\\u`` escape (strict UTF-8 decoding refuses encoded
ones), and pairs are joined by the parser: only bodies with such an escape need a look."""


_LONE_SURROGATE = ("holds a lone UTF-16 surrogate (a \\ud800-\\udfff escape without its pair), "
                   "which is not text")


class _Refused:
    """Stands in for a value the parser met and the gateway refuses, until the walk names it."""

    def __init__(self, why: str) -> None:
        self.why = why


def _constant(name: str) -> _Refused:
    return _Refused(f"is {name}, which JSON has no number for")


def _integer(text: str) -> int | _Refused:
    digits = len(text) - text.startswith("-")
    if digits > MAX_INTEGER_DIGITS:
        return _Refused(f"is an integer of {digits} digits (at most {MAX_INTEGER_DIGITS})")
    return int(text)


def _number(text: str) -> float | _Refused:
    value = float(text)
    return value if math.isfinite(value) else _Refused("is a number too large to represent")


def parse_json(text: str) -> Any:
    """The JSON value of ``text``; InvalidRequest (1200) or InvalidParameter (1201) when it is
    not JSON the gateway can store and forward."""
    try:
        value = json.loads(text, parse_constant=_constant, parse_int=_integer,
                           parse_float=_number)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # deeper than the C parser goes: far past MAX_DEPTH
        raise _too_deep() from exc
    _check(value, look_at_strings=_SURROGATE_ESCAPE.search(text) is not None)
    return value


def field_path(path: Iterable[str | int]) -> str:
    """``["image_list", 0, "image"]`` → ``image_list[0].image``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _too_deep() -> InvalidRequest:
    return InvalidRequest(f"request body nests arrays or objects more than {MAX_DEPTH} levels "
                          "deep")


Path = tuple[str | int, ...]


def _check(value: Any, *, look_at_strings: bool) -> None:
    """Refuses a body nested past MAX_DEPTH or holding a refused value (or, when asked, a
    string that cannot be written as UTF-8), naming the first such field."""
    _check_value(value, (), look_at_strings)
    pending: list[tuple[Any, Path]] = [(value, ())]
    while pending:
        container, path = pending.pop()
        if len(path) >= MAX_DEPTH:
            raise _too_deep()
        for key, member in _members(container):
            if look_at_strings and isinstance(key, str) and not _is_utf8(key):
                raise _refusal(path, f"has a member name that {_LONE_SURROGATE}")
            if isinstance(member, dict | list):
                pending.append((member, (*path, key)))
            else:
                _check_value(member, (*path, key), look_at_strings)


def _check_value(value: Any, path: Path, look_at_strings: bool) -> None:
    if isinstance(value, _Refused):
        raise _refusal(path, value.why)
    if look_at_strings and isinstance(value, str) and not _is_utf8(value):
        raise _refusal(path, _LONE_SURROGATE)


def _members(container: Any) -> Iterator[tuple[str | int, Any]]:
    if isinstance(container, dict):
        return iter(container.items())
    if isinstance(container, list):
        return enumerate(container)
    return iter(())


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refusal(path: Path, why: str) -> KlingError:
    """1201 naming the field; 1200 when the fault is the body itself (or a key at its top)."""
    if not path:
        return InvalidRequest(f"request body is not usable JSON: it {why}")
    return InvalidParameter(f"invalid parameter '{field_path(path)}': {why}")
