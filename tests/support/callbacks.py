"""An HTTP server that records what is POSTed to it, to receive Kling callbacks in tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class CallbackReceiver:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._changed = threading.Condition()
        self.url = ""

    def record(self, body: dict[str, Any], headers: dict[str, str]) -> None:
        with self._changed:
            self.received.append(body)
            self.headers.append(headers)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Block until ``count`` callbacks arrived (fails the test after ``timeout``)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.received) >= count, timeout)
            assert len(self.received) >= count, f"got {len(self.received)} callbacks: " \
                f"{self.received}"
            return list(self.received)


@contextmanager
def callback_receiver() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            receiver.record(json.loads(self.rfile.read(length)), dict(self.headers))
            self.send_response(200)
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
