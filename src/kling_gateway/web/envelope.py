"""The official response envelope ``{code, message, request_id, data}``."""

from __future__ import annotations

import json
from typing import Any

from kling_gateway.domain.errors import KlingError
from kling_gateway.web.request_id import current_request_id

SUCCESS_MESSAGE = "SUCCEED"


def ok(data: Any) -> dict[str, Any]:
    """The body of a successful answer."""
    return {"code": 0, "message": SUCCESS_MESSAGE, "request_id": current_request_id(),
            "data": data}


def error_body(error: KlingError) -> dict[str, Any]:
    """The body of a failed answer; official error bodies carry no ``data``."""
    return {"code": error.code, "message": error.message, "request_id": current_request_id()}


def to_json(body: Any) -> str:
    """Compact JSON, keys in insertion order, non-ASCII text kept as is."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
