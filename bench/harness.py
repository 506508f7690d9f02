"""What every benchmark figure shares: processes on 127.0.0.1, a fresh PostgreSQL schema, a
small Kling client, a callback receiver, percentiles, progress output and the machine's facts."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg2
import requests
from requests.adapters import HTTPAdapter

from kling_gateway import kling_jwt
from kling_gateway.services import accounts, channels
from kling_gateway.storage.db import database, open_database
from kling_gateway.storage.migrations import migrate
from kling_gateway.storage.models import Task

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LOGS = BENCH / "logs"
RESULTS = BENCH / "RESULTS.md"
CLI = Path(sys.executable).parent / "kling-gateway"
HOST = "127.0.0.1"
POSTGRES_URL = os.environ.get("KLING_GATEWAY_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
SIM_AK, SIM_SK = "bench-ak", "bench-sk-0123456789abcdef0123456789abcd"
T2V = "/v1/videos/text2video"
CNY = 10_000


RUN_STARTED = time.monotonic()
QUICK_NOTE = " (quick mode: smaller numbers, shorter windows)"


def elapsed() -> float:
    return time.monotonic() - RUN_STARTED


def say(message: str) -> None:
    """Progress on stdout, and in bench/logs/run.log."""
    line = f"[{elapsed():6.1f}s] {message}"
    print(line, flush=True)
    with open(LOGS / "run.log", "a", encoding="utf-8") as log:
        log.write(line + "\n")


# ---- numbers --------------------------------------------------------------------------------

def percentile(values: Sequence[float], share: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    return {"n": len(values), "p50": percentile(values, 0.5), "p90": percentile(values, 0.9),
            "p99": percentile(values, 0.99), "max": max(values) if values else math.nan,
            "min": min(values) if values else math.nan}


def ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f}"


# ---- processes, database, HTTP --------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], bool], timeout: float, what: str,
               process: subprocess.Popen | None = None, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


def answers(url: str) -> bool:
    try:
        requests.get(url, timeout=1)
        return True
    except requests.RequestException:
        return False


@contextmanager
def process(name: str, args: Sequence[str], *, env: dict[str, str],
            ready_url: str | None = None, ready_log: str | None = None,
            command: Sequence[str] | None = None) -> Iterator[subprocess.Popen]:
    """``kling-gateway ARGS`` (or ``command``) as a child process logging to bench/logs/NAME.log,
    stopped with SIGTERM (then SIGKILL) when the block ends."""
    log_path = LOGS / f"{name}.log"
    with open(log_path, "wb") as log:
        child = subprocess.Popen(list(command or [str(CLI), *args]), cwd=ROOT,
                                 env={**os.environ, **env}, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        try:
            if ready_url:
                wait_until(lambda: answers(ready_url), 60, f"{name} at {ready_url}", child)
            if ready_log:
                pattern = re.compile(ready_log)
                wait_until(lambda: bool(pattern.search(log_path.read_text(errors="replace"))),
                           60, f"{name} start", child)
            yield child
        finally:
            stop_process(child)


def stop_process(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (its threads included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree(root: int) -> list[int]:
    """``root`` and every process under it (uvicorn's and gunicorn's workers)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU time of ``root`` and every process under it (a server's workers)."""
    return sum(cpu_seconds(pid) for pid in process_tree(root))


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards; yields a URL that uses it."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(POSTGRES_URL)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{schema}"')
        separator = "&" if "?" in POSTGRES_URL else "?"
        yield f"{POSTGRES_URL}{separator}options={quote(f'-c search_path={schema}')}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute("SET lock_timeout = '60s'")
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


def gateway_env(database_url: str, **extra: str) -> dict[str, str]:
    return {"KLING_GATEWAY_DATABASE_URL": database_url,
            "KLING_GATEWAY_CALLBACK_ALLOW_NETWORKS": "127.0.0.0/8",
            "KLING_GATEWAY_PUBLIC_URL": "", "KLING_GATEWAY_ADMIN_TOKEN": "",
            "PYTHONUNBUFFERED": "1", **extra}


def simulator_args(port: int, task_seconds: float, concurrency: int) -> list[str]:
    return ["simulator", "--host", HOST, "--port", str(port), "--access-key", SIM_AK,
            "--secret-key", SIM_SK, "--task-seconds", str(task_seconds),
            "--concurrency", str(concurrency)]


@dataclass
class Deployment:
    """A migrated schema with one channel (the simulator) and one user with a token."""

    database_url: str
    channel_id: int
    user_id: int
    token: accounts.IssuedToken


def prepare_database(database_url: str, simulator_url: str) -> Deployment:
    open_database(database_url)
    try:
        migrate()
        channel = channels.add_channel("sim", access_key=SIM_AK, secret_key=SIM_SK,
                                       base_url=simulator_url)
        user = accounts.create_user("bench", balance=10_000_000 * CNY)
        token = accounts.create_token("bench")
        return Deployment(database_url, channel.id, user.id, token)
    finally:
        database.close()


def task_row(deployment: Deployment, task_id: str, **fields: Any) -> dict[str, Any]:
    """A gateway ``tasks`` row of the bench user: a 5 s kling-v1 text2video on the bench
    channel, charged nothing; ``fields`` say what differs (status, times, ids …)."""
    return {"id": task_id, "user": deployment.user_id, "token": deployment.token.token.id,
            "channel": deployment.channel_id, "family": "text2video", "model_name": "kling-v1",
            "mode": "std", "duration": "5", "price_key": "bench", "amount": 0,
            "status_msg": "", "request_body": {"prompt": "bench"}, **fields}


def insert_tasks(deployment: Deployment, rows: Sequence[dict[str, Any]]) -> None:
    """Write ``rows`` straight into the deployment's ``tasks`` table, 1,000 a statement."""
    open_database(deployment.database_url)
    try:
        with database.atomic():
            for start in range(0, len(rows), 1000):
                Task.insert_many(rows[start:start + 1000]).execute()
    finally:
        database.close()


class KlingHttp:
    """A small Kling client usable from many threads: one connection pool per thread, and one
    JWT reused until shortly before it expires (as the gateway does for its channels), or the
    gateway's API key as the bearer."""

    def __init__(self, base_url: str, access_key: str = "", secret_key: str = "", *,
                 api_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._keys = (access_key, secret_key)
        self._api_key = api_key
        self._local = threading.local()
        self._lock = threading.Lock()
        self._token, self._token_at = "", 0.0

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.mount("http://", HTTPAdapter(pool_maxsize=4, max_retries=0))
            self._local.session = session
        return session

    def _headers(self) -> dict[str, str]:
        if self._api_key is not None:
            return {"Authorization": f"Bearer {self._api_key}"}
        with self._lock:
            if time.time() - self._token_at > 600:
                self._token_at = time.time()
                self._token = kling_jwt.sign(*self._keys, now=self._token_at)
            return {"Authorization": f"Bearer {self._token}"}

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self._session().post(self.base_url + T2V, json=body, headers=self._headers(),
                                        timeout=30)
        if response.status_code != 200:
            raise RuntimeError(f"create answered {response.status_code}: {response.text[:300]}")
        return response.json()["data"]

    def get(self, task_id: str) -> dict[str, Any]:
        response = self._session().get(f"{self.base_url}{T2V}/{task_id}",
                                        headers=self._headers(), timeout=30)
        if response.status_code != 200:
            raise RuntimeError(f"get answered {response.status_code}: {response.text[:300]}")
        return response.json()["data"]


class CallbackReceiver:
    """Records when each task's callbacks arrive (``time.time()`` as the request is read)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.arrivals: dict[str, list[tuple[str, float, dict[str, Any]]]] = {}
        self.url = ""

    def record(self, body: bytes, arrived: float) -> None:
        try:
            task = json.loads(body)
        except ValueError:
            return
        with self._changed:
            self.arrivals.setdefault(str(task.get("task_id")), []).append(
                (str(task.get("task_status")), arrived, task))
            self._changed.notify_all()

    def succeed(self, task_id: str) -> tuple[float, dict[str, Any]] | None:
        with self._changed:
            for status, arrived, task in self.arrivals.get(task_id, []):
                if status == "succeed":
                    return arrived, task
        return None

    def statuses(self, task_id: str) -> list[str]:
        with self._changed:
            return [status for status, _, _ in self.arrivals.get(task_id, [])]

    def wait_for_succeed(self, task_ids: Sequence[str], timeout: float) -> int:
        """Block until every task's ``succeed`` arrived or ``timeout``; how many arrived."""
        deadline = time.monotonic() + timeout

        def done() -> int:
            return sum(any(s == "succeed" for s, _, _ in self.arrivals.get(t, []))
                       for t in task_ids)

        with self._changed:
            while (count := done()) < len(task_ids) and time.monotonic() < deadline:
                self._changed.wait(min(1.0, max(deadline - time.monotonic(), 0.01)))
            return count


@contextmanager
def callback_receiver() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.record(body, time.time())
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="receiver", daemon=True)
    thread.start()
    receiver.url = f"http://{HOST}:{server.server_address[1]}/callback"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def spread(count: int, seconds: float, call: Callable[[int], Any], threads: int = 8) -> list[Any]:
    """``call(i)`` for i in 0..count-1, started evenly over ``seconds`` from a thread pool."""
    started = time.monotonic()
    with ThreadPoolExecutor(threads, thread_name_prefix="submit") as pool:
        futures = []
        for index in range(count):
            delay = started + index * seconds / count - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(call, index))
        return [future.result(timeout=120) for future in futures]


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - start) * 1000



# ---- the machine ---------------------------------------------------------------------------

def one_row(connection: Any, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    connection = psycopg2.connect(POSTGRES_URL)
    try:
        (pg_version,) = one_row(connection, "SHOW server_version")
    finally:
        connection.close()
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                                capture_output=True, timeout=10).stdout.strip() or "unknown"
        changed = subprocess.run(["git", "diff", "--stat", "HEAD", "--", "src"], cwd=ROOT,
                                 text=True, capture_output=True, timeout=10).stdout.strip()
        if changed:
            commit += f" (src/ differs from it: {changed.splitlines()[-1].strip()})"
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return {"CPUs (nproc)": str(os.cpu_count()), "CPU model": cpu,
            "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
            "OS": f"{platform.system()} {platform.release()}",
            "Python": platform.python_version(),
            "PostgreSQL": f"{pg_version} at 127.0.0.1:5432 (database test, a fresh schema)",
            "commit": commit}


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
