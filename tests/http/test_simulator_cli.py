"""``kling-gateway simulator`` as a user starts it: a real process, driven over HTTP."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.support.kling_client import KlingApi

SECRET = "cli-secret-0123456789abcdef0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def simulator_process(*args: str) -> Iterator[str]:
    port = free_port()
    command = shutil.which("kling-gateway", path=str(Path(sys.executable).parent))
    assert command, "the console script is installed with the package"
    process = subprocess.Popen([command, "simulator", "--port", str(port), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read()
            try:
                requests.get(base_url + "/v1/openapi.json", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the simulator did not start"
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_for_status(api: KlingApi, path: str, status: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        task = api.get(path).json()["data"]
        if task["task_status"] == status:
            return task
        assert time.monotonic() < deadline, f"task stuck in {task['task_status']}"
        time.sleep(0.05)


def test_cli_serves_configured_accounts_and_finishes_tasks():
    with simulator_process("--access-key", "cli-ak", "--secret-key", SECRET,
                           "--task-seconds", "0.3", "--concurrency", "2") as base_url:
        api = KlingApi(base_url, "cli-ak", SECRET)
        task = api.create("/v1/videos/text2video", {"prompt": "a cli cat"})
        done = wait_for_status(api, f"/v1/videos/text2video/{task['task_id']}", "succeed")
        default_account = KlingApi(base_url, "sim-access-key",
                                   "sim-secret-key-0123456789abcdef0123")

        assert done["task_result"]["videos"][0]["url"].startswith(base_url)
        assert default_account.get("/v1/videos/text2video").json()["code"] == 1000


def test_cli_reads_an_accounts_file(tmp_path):
    accounts = tmp_path / "accounts.json"
    accounts.write_text(json.dumps({"accounts": [{"access_key": "file-ak",
                                                  "secret_key": SECRET}]}))
    with simulator_process("--accounts-file", str(accounts)) as base_url:
        answer = KlingApi(base_url, "file-ak", SECRET).get("/v1/images/generations")
        assert answer.status_code == 200 and answer.json()["data"] == []
