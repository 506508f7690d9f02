"""Real ``kling-gateway`` processes for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def console_script() -> str:
    command = shutil.which("kling-gateway", path=str(Path(sys.executable).parent))
    assert command, "the console script is installed with the package"
    return command


def wait_until_answering(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, f"{process.args} exited with {process.returncode}"
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            assert time.monotonic() < deadline, f"{url} did not come up"
            time.sleep(0.1)


@contextmanager
def kling_gateway(*args: str, env: dict[str, str] | None = None,
                  ready_url: str | None = None, log_path: Path | None = None,
                  ) -> Iterator[subprocess.Popen]:
    """``kling-gateway ARGS`` as a child process, stopped (or killed) when the block ends."""
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen([console_script(), *args], env={**os.environ, **(env or {})},
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        if ready_url:
            wait_until_answering(ready_url, process)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if log_path:
            log.close()
