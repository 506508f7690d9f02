"""``kling-gateway serve`` as a user starts it: a real process, its printed keys and curl lines."""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from kling_gateway import kling_jwt
from kling_gateway.services import accounts, channels
from kling_gateway.simulator.settings import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY
from kling_gateway.storage.db import database, open_database
from kling_gateway.storage.migrations import migrate
from kling_gateway.storage.models import Task
from tests.support.processes import wait_until_answering

START_SECONDS = 90
"""Generous: ``--workers`` spawns fresh interpreters that import the whole app."""
ENVELOPE_KEYS = ["code", "message", "request_id", "data"]
LIVE_STATUSES = ("submitted", "processing", "succeed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Served:
    process: subprocess.Popen
    base_url: str
    lines: queue.Queue = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    def read_until(self, done: re.Pattern, count: int = 1) -> list[str]:
        """Output lines until ``count`` of them match ``done``, failing after a deadline."""
        deadline = time.monotonic() + START_SECONDS
        while sum(bool(done.search(line)) for line in self.seen) < count:
            assert time.monotonic() < deadline, "no such output:\n" + "".join(self.seen)
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            assert line is not None, "the server exited:\n" + "".join(self.seen)
            self.seen.append(line)
        return self.seen

    def wait_until_answering(self, path: str, **request: object) -> requests.Response:
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert self.process.poll() is None, "the server exited:\n" + "".join(self.seen)
            try:
                answer = requests.get(self.base_url + path, timeout=5, **request)
                if answer.status_code != 404:  # a worker may still be mounting the APIs
                    return answer
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"{path} never answered"
            time.sleep(0.1)


@contextmanager
def serve_process(cwd: Path, *args: str, env: dict[str, str]) -> Iterator[Served]:
    port = free_port()
    command = shutil.which("kling-gateway", path=str(Path(sys.executable).parent))
    assert command, "the console script is installed with the package"
    if "--workers" not in args:
        args = ("--workers", "1", *args)  # one process unless a test is about workers
    elif args[args.index("--workers") + 1] == "default":  # the test wants serve's own default
        at = args.index("--workers")
        args = (*args[:at], *args[at + 2:])
    process = subprocess.Popen([command, "serve", "--port", str(port), *args], cwd=cwd, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    served = Served(process, f"http://127.0.0.1:{port}")

    def drain() -> None:  # keeps the pipe empty so that the server never blocks on a write
        for line in process.stdout:
            served.lines.put(line)
        served.lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    try:
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLING_GATEWAY_")}
    return {**env, **values}


def printed(lines: list[str], label: str) -> str:
    found = [m.group(1) for line in lines if (m := re.match(rf"\s+{label}\s+(\S+)$", line))]
    assert len(found) == 1, f"one {label!r} line expected:\n" + "".join(lines)
    return found[0]


def run_curl(line: str) -> dict:
    """Run a printed curl line: with curl when the machine has it, else the same request."""
    argv = shlex.split(line)
    assert argv[0] == "curl"
    if shutil.which("curl"):
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
        return json.loads(result.stdout)
    method, url, headers, data = "GET", "", {}, None
    options = iter(argv[1:])
    for option in options:
        if option == "-X":
            method = next(options)
        elif option == "-H":
            name, _, value = next(options).partition(": ")
            headers[name] = value
        elif option == "-d":
            data, method = next(options), "POST" if method == "GET" else method
        elif option.startswith("http"):
            url = option
    return requests.request(method, url, headers=headers, data=data, timeout=60).json()


def assert_task_envelope(answer: dict, external_id: str) -> dict:
    assert list(answer) == ENVELOPE_KEYS, answer
    assert answer["code"] == 0 and answer["message"] == "SUCCEED", answer
    task = answer["data"]
    assert task["task_status"] in LIVE_STATUSES, task
    assert task["task_info"]["external_task_id"] == external_id
    return task


def test_demo_prints_keys_and_curl_lines_that_work(tmp_path):
    with serve_process(tmp_path, "--demo", env=clean_env()) as served:
        lines = served.read_until(re.compile(r"^\s+curl "), count=2)
        create_line, query_line = [line.strip() for line in lines
                                   if line.strip().startswith("curl")]
        access_key, secret_key = printed(lines, "access key"), printed(lines, "secret key")
        external_id = re.search(r'"external_task_id":"([^"]+)"', create_line).group(1)
        assert printed(lines, "API key") in create_line and printed(lines, "API key") in query_line
        assert f"base URL {served.base_url}/kling" in "".join(lines)
        served.wait_until_answering("/kling/v1/openapi.json")

        created = run_curl(create_line)
        queried = run_curl(query_line)
        jwt = {"Authorization": "Bearer " + kling_jwt.sign(access_key, secret_key)}
        by_jwt = [requests.get(f"{served.base_url}{prefix}/v1/videos/text2video/{external_id}",
                               headers=jwt, timeout=30).json() for prefix in ("/kling", "")]

        assert assert_task_envelope(created, external_id)["task_status"] == "submitted"
        for answer in (queried, *by_jwt):
            assert assert_task_envelope(answer, external_id)["task_id"] == \
                created["data"]["task_id"]
        assert (tmp_path / "kling-gateway-demo.sqlite3").exists()


def test_workers_serve_the_admin_api_and_swagger_ui_then_stop_on_sigterm(tmp_path):
    env = clean_env(KLING_GATEWAY_DATABASE_URL=f"sqlite:///{tmp_path / 'gateway.sqlite3'}",
                    KLING_GATEWAY_ADMIN_TOKEN="serve-test-admin-token")
    admin = {"Authorization": "Bearer serve-test-admin-token"}
    cores = os.cpu_count() or 1
    with serve_process(tmp_path, "--workers", "default", env=env) as served:
        lines = served.read_until(re.compile(r"admin API"))
        summary = served.wait_until_answering("/admin/v1/summary", headers=admin)
        swagger_ui = served.wait_until_answering("/v1/ui/")

        # By default one worker process per CPU core.
        assert f"({cores} worker{'s' if cores > 1 else ''})" in "".join(lines)
        assert summary.status_code == 200, summary.text
        assert summary.json()["code"] == 0 and summary.json()["data"]["users"] == 0
        assert swagger_ui.status_code == 200 and "swagger" in swagger_ui.text.lower()

        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=60) in (0, -signal.SIGTERM)


def _children(pid: int) -> list[int]:
    return [int(child) for path in Path(f"/proc/{pid}/task").glob("*/children")
            for child in path.read_text().split()]


def _running(pid: int) -> bool:
    """Alive and not a zombie (once orphaned, a dead worker is reaped by whoever adopted it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


SLOW_UPSTREAM_SECONDS = 120
"""How long the upstream holds a create: far longer than the test waits for the workers."""


@contextmanager
def slow_upstream_deployment(database_url: str) -> Iterator[str]:
    """A simulator whose ``#sim-slow`` creates answer after SLOW_UPSTREAM_SECONDS, a channel to
    it and a user 'ada'; yields ada's API key."""
    port = free_port()
    simulator = subprocess.Popen(
        [shutil.which("kling-gateway", path=str(Path(sys.executable).parent)), "simulator",
         "--port", str(port), "--slow-seconds", str(SLOW_UPSTREAM_SECONDS)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/v1/openapi.json", simulator)
        open_database(database_url)
        migrate()
        channels.add_channel("sim", access_key=DEFAULT_ACCESS_KEY, secret_key=DEFAULT_SECRET_KEY,
                             base_url=f"http://127.0.0.1:{port}")
        accounts.create_user("ada", balance=1000 * 10_000)
        api_key = accounts.create_token("ada").api_key
        database.close()
        yield api_key
    finally:
        simulator.kill()  # its slow answer would hold a graceful stop
        simulator.wait(timeout=30)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_workers_stop_when_their_supervisor_is_killed(tmp_path, database_url):
    """Idle keep-alive connections and a request in flight that the upstream holds for minutes
    must not keep them: a killed supervisor leaves nobody to stop them later."""
    with slow_upstream_deployment(database_url) as api_key, \
            serve_process(tmp_path, "--workers", "2", "--no-worker",
                          env=clean_env(KLING_GATEWAY_DATABASE_URL=database_url)) as served:
        served.wait_until_answering("/healthz")
        idle = requests.Session()
        idle.get(served.base_url + "/healthz", timeout=5)  # stays open, idle
        in_flight = threading.Thread(target=_create_ignoring_errors, daemon=True, args=(
            served.base_url, api_key, {"prompt": "take your time #sim-slow"}))
        in_flight.start()
        _wait_until_in_flight(database_url)
        workers = _children(served.process.pid)
        assert workers, "uvicorn's supervisor has started its workers"
        served.process.kill()  # no SIGTERM for the workers: they must notice on their own
        served.process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(_running(pid) for pid in workers):
            assert time.monotonic() < deadline, "workers outlived their supervisor"
            time.sleep(0.2)
    with socket.socket() as sock:  # a restarted gateway can listen there (as uvicorn binds)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", int(served.base_url.rsplit(":", 1)[1])))


def _create_ignoring_errors(base_url: str, api_key: str, body: dict) -> None:
    with suppress(requests.RequestException):
        requests.post(f"{base_url}/v1/videos/text2video", json=body, timeout=300,
                      headers={"Authorization": f"Bearer {api_key}"})


def _wait_until_in_flight(database_url: str) -> None:
    """Until the gateway has the task on record and is waiting for the upstream's answer."""
    open_database(database_url)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not Task.select().where(Task.status == "submitting").exists():
            assert time.monotonic() < deadline, "the create never reached the gateway"
            time.sleep(0.1)
    finally:
        database.close()
