"""How the upstream client reaches a channel: the proxy and the credentials it sends.

A small HTTP server on 127.0.0.1 plays both Kling and a forward proxy: a request for an absolute
URL (``GET http://host/path``) is what a client sends to a proxy."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kling_gateway.upstream.client import KlingClient

AK, SK = "channel-ak", "channel-sk-0123456789abcdef0123456789"


class _Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]]

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        body = json.dumps({"code": 0, "message": "SUCCEED", "request_id": "r", "data": {}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    seen: list[tuple[str, str | None]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_a_proxy_named_in_the_environment_carries_the_channels_requests(server, monkeypatch):
    url, seen = server
    monkeypatch.setenv("HTTP_PROXY", url)
    KlingClient("http://kling.invalid", AK, SK).get("/v1/videos/text2video/1")
    assert seen[0][0] == "http://kling.invalid/v1/videos/text2video/1"


def test_no_proxy_exempts_a_channel(server, monkeypatch):
    url, seen = server
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    KlingClient(url, AK, SK).get("/v1/videos/text2video/1")
    assert seen[0][0] == "/v1/videos/text2video/1"


def test_the_environment_is_read_when_the_client_is_built_not_per_call(server, monkeypatch):
    url, seen = server
    client = KlingClient(url, AK, SK)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # too late for this client
    client.get("/v1/videos/text2video/1")
    assert seen[0][0] == "/v1/videos/text2video/1"


def test_a_netrc_entry_for_the_host_does_not_replace_the_channels_token(server, monkeypatch,
                                                                       tmp_path: Path):
    url, seen = server
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    KlingClient(url, AK, SK).get("/v1/videos/text2video/1")
    assert seen[0][1] is not None and seen[0][1].startswith("Bearer ey")
