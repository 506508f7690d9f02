"""A minimal Kling client for tests: signs a fresh JWT for every call, as the official SDKs do."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from kling_gateway import kling_jwt


class KlingApi:
    def __init__(self, base_url: str, access_key: str = "", secret_key: str = "",
                 clock: Callable[[], float] = time.time, *, api_key: str | None = None) -> None:
        self.base_url = base_url
        self.access_key = access_key
        self.secret_key = secret_key
        self.api_key = api_key
        self.clock = clock
        self.http = requests.Session()

    def headers(self) -> dict[str, str]:
        """A fresh JWT, or the gateway's opaque API key when the client was given one."""
        if self.api_key is not None:
            return {"Authorization": f"Bearer {self.api_key}"}
        token = kling_jwt.sign(self.access_key, self.secret_key, now=self.clock())
        return {"Authorization": f"Bearer {token}"}

    def post(self, path: str, body: Any) -> requests.Response:
        return self.http.post(self.base_url + path, json=body, headers=self.headers(), timeout=30)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.http.get(self.base_url + path, params=params, headers=self.headers(),
                             timeout=30)

    def create(self, path: str, body: Any) -> dict[str, Any]:
        """Create a task and return its ``data``, failing loudly on an error answer."""
        response = self.post(path, body)
        assert response.status_code == 200, response.text
        return response.json()["data"]
