"""Per-API-token limits, both refused with the official 1302 (HTTP 429).

- The request rate (``token_requests_per_second``) is checked on every Kling-API request, right
  after authentication. It is a moving window kept by the ``limits`` library: in Redis when
  ``redis_url`` is set, so that every gateway instance counts against the same window, and in
  the process otherwise. A moving window has no boundary at which a client may send twice the
  rate, and a refused request is not counted.
- The unfinished tasks (``token_running_tasks``) are counted in the database, which every
  instance shares already, inside the submit transaction and before the charge.

When Redis is configured but cannot be reached, the rate is limited in the process instead (each
instance then lets the full rate through) and a warning is logged; Redis is tried again after
``SHARED_RETRY_SECONDS``. A Redis outage thus degrades the limit rather than the whole API.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from fractions import Fraction

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from kling_gateway.config import Settings
from kling_gateway.domain.errors import RateLimited
from kling_gateway.services.auth import Caller
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage import tokens as token_store

log = logging.getLogger(__name__)
KEY_PREFIX = "kling-gateway"
SHARED_RETRY_SECONDS = 5.0
REDIS_TIMEOUT_SECONDS = 0.5
"""An unreachable Redis costs a request at most this long before the local fallback."""


def rate_item(per_second: float) -> RateLimitItem:
    """The rate as whole requests per whole seconds: 5 → 5 per second, 0.3 → 3 per 10 s."""
    if per_second <= 0:
        raise ValueError(f"a request rate must be positive, not {per_second}")
    rate = Fraction(per_second).limit_denominator(3600)
    return RateLimitItemPerSecond(max(rate.numerator, 1), rate.denominator)


class RequestRateLimit:
    """The per-token request rate; ``check`` raises 1302 for a request over it."""

    def __init__(self, per_second: float | None, redis_url: str | None = None, *,
                 key_prefix: str = KEY_PREFIX,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.item = None if per_second is None else rate_item(per_second)
        self._local = None if self.item is None else MovingWindowRateLimiter(MemoryStorage())
        self._shared = None
        if self.item is not None and redis_url:
            storage = storage_from_string(
                redis_url, key_prefix=key_prefix, wrap_exceptions=True,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
            self._shared = MovingWindowRateLimiter(storage)
        self._clock = clock
        self._shared_down_until = 0.0

    @property
    def is_shared(self) -> bool:
        """Whether ``check`` asks Redis: network I/O, so not on the event loop."""
        return self._shared is not None

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestRateLimit:
        return cls(settings.token_requests_per_second, settings.redis_url)

    def check(self, token_id: int) -> None:
        if self.item is None or self._hit(str(token_id)):
            return
        seconds = self.item.multiples
        window = "second" if seconds == 1 else f"{seconds} seconds"
        raise RateLimited(f"request rate over limit: this API token may make at most "
                          f"{self.item.amount} requests per {window}")

    def _hit(self, token: str) -> bool:
        assert self.item is not None and self._local is not None
        if self._shared is not None and self._clock() >= self._shared_down_until:
            try:
                return self._shared.hit(self.item, "token", token)
            except StorageError as failure:
                self._shared_down_until = self._clock() + SHARED_RETRY_SECONDS
                log.warning("rate limit: Redis unreachable (%s); limiting in this process "
                            "only, retrying Redis in %g s", failure, SHARED_RETRY_SECONDS)
        return self._local.hit(self.item, "token", token)


def check_running_tasks(caller: Caller, cap: int | None) -> None:
    """1302 when the caller's token already has ``cap`` unfinished tasks. Call it inside the
    submit transaction before the task is written: on PostgreSQL the token's row is locked, so
    two submits of one token count one after the other (SQLite writers queue anyway)."""
    if cap is None:
        return
    token_store.lock(caller.token_id)
    running = task_store.count_unfinished_of_token(caller.token_id)
    if running >= cap:
        raise RateLimited(f"too many unfinished tasks: this API token may have at most {cap} "
                          "tasks submitted or processing at once")
