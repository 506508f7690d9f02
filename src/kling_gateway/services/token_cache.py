"""Tokens this process authenticated a moment ago, so that a busy client is not looked up in
the database on every request.

An entry is the token's ``Credential`` (the token with its user, as read), kept for ``seconds``
(1 s by default, ``KLING_GATEWAY_AUTH_CACHE_SECONDS``; 0 turns the cache off). Authentication
still checks revocation, the user's state and expiry on every request, against that copy: a
change made through this process (revoking a token, disabling a user) empties the cache at
once, and a change made through another gateway instance takes effect here within
``seconds``. Unknown keys are never cached, so a new token works at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from kling_gateway.storage.records import Credential

DEFAULT_SECONDS = 1.0
MAX_ENTRIES = 10_000
"""More distinct tokens than this within ``seconds`` only make the cache start over."""


class TokenCache:
    def __init__(self, seconds: float = DEFAULT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Credential]] = {}
        self.configure(seconds, clock)

    def configure(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        """How long an entry lives (0: no caching); forgets every entry."""
        with self._lock:
            self._seconds, self._clock = max(seconds, 0.0), clock
            self._entries.clear()

    def lookup(self, key: str) -> Credential | None:
        """The token (with its user) cached under ``key``, if it is fresh."""
        entry = self._entries.get(key)
        if entry is None or self._clock() - entry[0] >= self._seconds:
            return None
        return entry[1]

    def remember(self, key: str, token: Credential) -> None:
        if self._seconds <= 0:
            return
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (self._clock(), token)

    def forget_all(self) -> None:
        """A token or a user changed: nothing cached may outlive the change here."""
        with self._lock:
            self._entries.clear()


tokens = TokenCache()
"""The process's cache; ``create_app`` sets its lifetime from the settings."""
