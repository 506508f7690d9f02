"""An HTTP server that records what is POSTed to it, to receive Kling callbacks in tests.

It answers 200, or ``fail_status`` to the first ``fail_first`` requests (set when starting it
or later with ``fail_next``), so a test can watch a sender retry; a 3xx answer carries
``location`` when set, to see whether a sender follows redirects. Every request is recorded,
failed ones included, with the status it was answered with."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class CallbackReceiver:
    def __init__(self, fail_first: int = 0, fail_status: int = 500) -> None:
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.raw_bodies: list[bytes] = []
        self.answered: list[int] = []
        self.fail_status = fail_status
        self._failures_left = fail_first
        self._changed = threading.Condition()
        self.url = ""
        self.location: str | None = None

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer ``status`` to the next ``count`` requests."""
        with self._changed:
            self._failures_left, self.fail_status = count, status

    def record(self, body: bytes, headers: dict[str, str]) -> int:
        """Keep the request; the status to answer it with."""
        with self._changed:
            failing = self._failures_left > 0
            self._failures_left -= failing
            status = self.fail_status if failing else 200
            self.received.append(json.loads(body))
            self.raw_bodies.append(body)
            self.headers.append(headers)
            self.answered.append(status)
            self._changed.notify_all()
            return status

    def wait_for(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Block until ``count`` callbacks arrived (fails the test after ``timeout``)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.received) >= count, timeout)
            assert len(self.received) >= count, f"got {len(self.received)} callbacks: " \
                f"{self.received}"
            return list(self.received)


@contextmanager
def callback_receiver(fail_first: int = 0, fail_status: int = 500) -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver(fail_first, fail_status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            status = receiver.record(self.rfile.read(length), dict(self.headers))
            self.send_response(status)
            if 300 <= status < 400 and receiver.location:
                self.send_header("Location", receiver.location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/kling-callback"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
