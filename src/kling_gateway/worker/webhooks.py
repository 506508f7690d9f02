"""Signed HTTP callbacks in the Standard Webhooks style that Kling signs its own callbacks with.

Every POST carries ``webhook-id`` (the same on every retry of one message), ``webhook-timestamp``
(Unix seconds of this attempt) and ``webhook-signature: v1,<base64 HMAC-SHA256>`` over
``"{id}.{timestamp}." + body``, keyed by the UTF-8 bytes of the API token's secret key. A client
checks a callback with :func:`verify`; it should also drop a ``webhook-id`` it has already seen.

Transport only: no storage, billing or task knowledge. ``requests`` errors become
:class:`DeliveryFailed` here and nowhere else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

__all__ = ["DeliveryFailed", "new_session", "post_signed", "sign", "verify"]

SIGNATURE_VERSION = "v1"
USER_AGENT = "kling-gateway-webhooks"


class DeliveryFailed(Exception):
    """The POST got no HTTP answer: bad URL, connection refused or reset, TLS error, timeout."""


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{message_id}.{timestamp}." + body>``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: float,
           tolerance: int = 300) -> bool:
    """True when one of the space-separated ``webhook-signature`` values signs ``body`` and
    ``webhook-timestamp`` is within ``tolerance`` seconds of ``now`` (Unix seconds)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id = lowered.get("webhook-id")
    timestamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not (message_id and timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs(now - int(timestamp)) > tolerance:
        return False
    expected = sign(secret, message_id, int(timestamp), body).encode()
    return any(hmac.compare_digest(expected, candidate.encode("utf-8", "replace"))
               for candidate in signatures.split())


def new_session() -> requests.Session:
    """A session for :func:`post_signed`. It takes no proxy and no ``.netrc`` credentials from
    the environment: a proxy would pick the address to connect to itself, and the credentials
    would go to whatever host a client names. ``REQUESTS_CA_BUNDLE`` (or ``CURL_CA_BUNDLE``)
    still chooses the certificate authorities, as it does for requests' own sessions."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.trust_env = False
    session.verify = (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
                      or True)
    return session


class PinnedAddressAdapter(HTTPAdapter):
    """Connects to ``address`` whatever DNS answers by now, while the URL's host name is still
    what TLS names (SNI) and checks the certificate against. A host name checked and then
    resolved again could have been pointed elsewhere in between (DNS rebinding)."""

    def __init__(self, address: str) -> None:
        super().__init__(max_retries=0)
        self.address = address

    def build_connection_pool_key_attributes(self, request: requests.PreparedRequest,
                                             verify: Any, cert: Any = None,
                                             ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert)
        if host_params["scheme"] == "https":
            name = host_params["host"]
            pool_kwargs = {**pool_kwargs, "server_hostname": name, "assert_hostname": name}
        return {**host_params, "host": self.address}, pool_kwargs


def post_signed(session: requests.Session, url: str, body: bytes, secret: str,
                message_id: str, timestamp: int, timeout: float | tuple[float, float], *,
                connect_to: str) -> int:
    """POST ``body`` signed; the HTTP status of the answer (its body is not read). The
    connection goes to the address ``connect_to`` (which the caller checked), never to
    whatever the URL's host resolves to by now; a URL that would not go there fails.

    Redirects are not followed: a redirect could lead to an address the callback target
    check refused, so a 3xx counts as a failed attempt like any other non-2xx status."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }
    try:
        request = session.prepare_request(requests.Request("POST", url, data=body,
                                                           headers=headers))
        _pin(session, request, connect_to)
        with session.send(request, timeout=timeout, allow_redirects=False,
                          stream=True) as response:
            return response.status_code
    except requests.RequestException as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc


def _pin(session: requests.Session, request: requests.PreparedRequest, address: str) -> None:
    """Send what ``session`` posts to ``request``'s origin to ``address`` from now on. Its
    pinned connections are reused until the origin's address changes, like any of the
    session's. The origin is read from the URL as requests prepared it, the URL it sends."""
    parts = urlsplit(request.url)
    request.headers["Host"] = parts.netloc.rpartition("@")[2]  # else it would name the address
    origin = f"{parts.scheme}://{parts.netloc}/"  # the prefix requests matches URLs against
    current = session.adapters.get(origin)
    if not (isinstance(current, PinnedAddressAdapter) and current.address == address):
        if current is not None:
            current.close()
        session.mount(origin, PinnedAddressAdapter(address))
    if session.get_adapter(request.url) is not session.adapters[origin]:
        raise requests.exceptions.InvalidURL("the URL does not lead to the pinned address")
