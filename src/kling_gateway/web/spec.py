"""Finding and loading the hand-written OpenAPI contract."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

_PACKAGED = Path(__file__).resolve().parent.parent / "openapi"
_CHECKOUT = Path(__file__).resolve().parents[3] / "openapi"


def spec_dir() -> Path:
    """The ``openapi/`` folder: the copy inside an installed wheel, else the checkout's."""
    return _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT


@functools.cache
def _load(name: str) -> dict[str, Any]:
    with (spec_dir() / name).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_spec(name: str = "kling.yaml") -> dict[str, Any]:
    """The parsed spec. Callers get their own copy because Connexion annotates what it is given."""
    import copy

    return copy.deepcopy(_load(name))


def operations(spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(METHOD, path, operationId)`` for every operation of a spec."""
    methods = {"get", "post", "put", "patch", "delete"}
    return [(method.upper(), path, op["operationId"])
            for path, item in spec["paths"].items()
            for method, op in item.items() if method in methods]
