"""The gateway's one notion of "now": Unix milliseconds, like Kling's created_at/updated_at."""

from __future__ import annotations

import time


def now_ms() -> int:
    return int(time.time() * 1000)
