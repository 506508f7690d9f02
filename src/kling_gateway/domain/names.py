"""Names of users and channels: they appear in admin URLs, so no slashes and no spaces."""

from __future__ import annotations

import re

from kling_gateway.domain.errors import InvalidParameter

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")


def check_name(name: str, field: str = "name") -> None:
    if not _NAME.fullmatch(name):
        raise InvalidParameter(
            f"invalid parameter '{field}': {name!r} must be 1-100 letters, digits or ._@+- "
            "and start with a letter or digit")
