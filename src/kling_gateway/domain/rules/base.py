"""What every rule module shares: the body and rule types, field helpers, and the checks of
image inputs (a URL, or raw Base64 of at most 10 MB)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from kling_gateway.domain.errors import InvalidParameter

Body = dict[str, Any]
Rule = Callable[[Body], None]

MAX_IMAGE_BYTES = 10 * 1024 * 1024
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")

def _present(body: Body, field: str) -> bool:
    """Kling treats an empty string, empty list or null like an absent field."""
    return body.get(field) not in (None, "", [], {})


def _exactly_one(body: Body, first: str, second: str, where: str = "") -> None:
    """Exactly one of two fields (of ``body``, found at ``where`` in the request) is given."""
    given = [f"{where}{field}" for field in (first, second) if _present(body, field)]
    if len(given) != 1:
        raise InvalidParameter(
            f"exactly one of '{where}{first}' and '{where}{second}' is required; got "
            + (" and ".join(repr(g) for g in given) if given else "neither"))


def _require(body: Body, fields: tuple[str, ...], where: str, when: str) -> None:
    for field in fields:
        if not _present(body, field):
            raise InvalidParameter(f"'{where}{field}' is required when {when}")


def _items(body: Body, field: str) -> list[Body]:
    return [item for item in body.get(field) or [] if isinstance(item, dict)]


# ---- Image inputs -------------------------------------------------------------------------


def check_image_input(value: str, field: str) -> None:
    """An image is an http(s) URL or raw Base64 of at most 10 MB, never a ``data:`` URI."""
    if value[:5].lower() == "data:":
        raise InvalidParameter(
            f"invalid parameter '{field}': send raw Base64 without the data URI prefix; "
            "strip 'data:image/...;base64,' and send only what follows the comma")
    if value.startswith(("http://", "https://")):
        return
    if not value or len(value) % 4 or not _BASE64.fullmatch(value):
        raise InvalidParameter(
            f"invalid parameter '{field}': must be an http(s) URL or raw Base64")
    decoded_bytes = len(value) // 4 * 3 - (len(value) - len(value.rstrip("=")))
    if decoded_bytes > MAX_IMAGE_BYTES:
        raise InvalidParameter(
            f"invalid parameter '{field}': image is {decoded_bytes} bytes, more than 10 MB")


def _image_fields(body: Body, singles: tuple[str, ...],
                  lists: tuple[tuple[str, str], ...]) -> Iterator[tuple[str, str]]:
    for field in singles:  # an empty single field means "not given"; an empty list item is bad
        if isinstance(body.get(field), str) and body[field]:
            yield field, body[field]
    for list_field, key in lists:
        for index, item in enumerate(body.get(list_field) or []):
            if isinstance(item, dict) and isinstance(item.get(key), str):
                yield f"{list_field}[{index}].{key}", item[key]


def images_rule(*singles: str, lists: tuple[tuple[str, str], ...] = ()) -> Rule:
    def images_are_urls_or_raw_base64(body: Body) -> None:
        for field, value in _image_fields(body, singles, lists):
            check_image_input(value, field)

    return images_are_urls_or_raw_base64
