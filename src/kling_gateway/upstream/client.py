"""``KlingClient``: the official JSON in, the official envelope's ``data`` out."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from kling_gateway import logs, metrics
from kling_gateway.upstream.auth import ChannelToken
from kling_gateway.upstream.errors import (
    UpstreamAmbiguous,
    UpstreamError,
    UpstreamRefused,
    UpstreamUnreachable,
)

log = logging.getLogger(__name__)
NOT_FOUND_CODE = 1203


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 60.0


DEFAULT_TIMEOUTS = Timeouts()


class KlingClient:
    """One channel's connection pool and token; ``name`` labels its metrics and log lines
    (default: the host of ``base_url``)."""

    def __init__(self, base_url: str, access_key: str, secret_key: str, *,
                 timeouts: Timeouts = DEFAULT_TIMEOUTS, session: requests.Session | None = None,
                 pool_size: int = 32, name: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name or urlsplit(self.base_url).netloc
        self._token = ChannelToken(access_key, secret_key)
        self._timeouts = timeouts
        self._session = _settled(session or requests.Session(), self.base_url)
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("POST", path, json=body)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._call("GET", path, params=params)

    def find_task(self, path: str, task_or_external_id: str) -> dict[str, Any] | None:
        """The task, or None when Kling says it does not exist."""
        try:
            return self.get(f"{path}/{task_or_external_id}")
        except UpstreamRefused as refusal:
            if refusal.code == NOT_FOUND_CODE or refusal.status == 404:
                return None
            raise

    def close(self) -> None:
        self._session.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request, counted and timed by channel and outcome."""
        started = time.perf_counter()
        outcome = "ambiguous"
        try:
            data = self._request(method, path, **kwargs)
            outcome = "ok"
            return data
        except UpstreamError as error:
            outcome = _outcome_of(error)
            raise
        finally:
            metrics.upstream_called(self.name, outcome, time.perf_counter() - started)
            logs.note(channel=self.name)

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._session.request(
                method, self.base_url + path, headers={"Authorization": self._token.bearer()},
                timeout=(self._timeouts.connect, self._timeouts.read), **kwargs)
        except requests.ConnectionError as exc:
            if _never_sent(exc):
                raise UpstreamUnreachable(f"cannot reach {self.base_url}: {exc}") from exc
            raise UpstreamAmbiguous(f"connection to {self.base_url} lost: {exc}") from exc
        except requests.Timeout as exc:
            raise UpstreamAmbiguous(f"{self.base_url} did not answer in time") from exc
        except requests.RequestException as exc:
            raise UpstreamAmbiguous(f"request to {self.base_url} failed: {exc}") from exc
        return _data_of(response)


def _settled(session: requests.Session, base_url: str) -> requests.Session:
    """``session`` with what requests would read from the environment for ``base_url`` on
    every call read once, now: the proxy (``HTTPS_PROXY``, ``NO_PROXY``, …) and the CA bundle
    (``REQUESTS_CA_BUNDLE``). Reading them per call cost a submit about 0.2 ms, and a channel's
    URL does not change. Nor does requests then look in ``.netrc``, whose entry for the
    upstream's host would have replaced the channel's own ``Authorization`` header."""
    found = session.merge_environment_settings(base_url, {}, None, None, None)
    session.proxies, session.verify = found["proxies"], found["verify"]
    session.trust_env = False
    return session


def _outcome_of(error: UpstreamError) -> str:
    if isinstance(error, UpstreamRefused):
        return "refused"
    return "unreachable" if isinstance(error, UpstreamUnreachable) else "ambiguous"


def _never_sent(exc: requests.ConnectionError) -> bool:
    """A refused or unresolvable connection never carried the request."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    text = str(exc)
    return any(marker in text for marker in (
        "Connection refused", "Name or service not known", "Failed to establish a new connection",
        "nodename nor servname", "No route to host"))


def _data_of(response: requests.Response) -> Any:
    try:
        envelope = response.json()
    except ValueError:
        envelope = None
    if not isinstance(envelope, dict):
        raise UpstreamAmbiguous(f"upstream answered HTTP {response.status_code} without JSON")
    logs.note(upstream_request_id=envelope.get("request_id"))
    code = envelope.get("code")
    if response.status_code >= 500:
        raise UpstreamAmbiguous(str(envelope.get("message") or f"HTTP {response.status_code}"),
                                code=code if isinstance(code, int) else None,
                                status=response.status_code)
    if response.status_code >= 400 or code not in (0, None):
        raise UpstreamRefused(int(code) if isinstance(code, int) else 5000,
                              str(envelope.get("message", "")), response.status_code)
    return envelope.get("data")
