"""One Kling JWT per channel, reused until shortly before it expires."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from kling_gateway import kling_jwt

RENEW_BEFORE_SECONDS = 300


class ChannelToken:
    def __init__(self, access_key: str, secret_key: str,
                 clock: Callable[[], float] = time.time) -> None:
        self._access_key = access_key
        self._secret_key = secret_key
        self._clock = clock
        self._lock = threading.Lock()
        self._token = ""
        self._expires = 0.0

    def bearer(self) -> str:
        with self._lock:
            now = self._clock()
            if now >= self._expires - RENEW_BEFORE_SECONDS:
                self._token = kling_jwt.sign(self._access_key, self._secret_key, now=now)
                self._expires = now + kling_jwt.TOKEN_LIFETIME_SECONDS
            return f"Bearer {self._token}"
