"""Benchmark of background sync (issue 5): how late the client's callback comes after Kling
finishes a task, and how many in-flight tasks one worker keeps current.

    .venv/bin/python bench/run.py [--quick]

Everything runs on this machine, on 127.0.0.1 only: the Kling simulator, the gateway
(``kling-gateway serve --no-worker``) and the worker (``kling-gateway worker``) as separate
processes, on a fresh PostgreSQL schema in the ``test`` database. The report is written to
``bench/RESULTS.md`` (overwritten); process logs go to ``bench/logs/``. Every process is stopped
and the schema dropped in ``finally`` blocks. A benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg2
import requests
from requests.adapters import HTTPAdapter

from kling_gateway import kling_jwt
from kling_gateway.services import accounts, channels
from kling_gateway.services.sync import DEFAULT_POLICY
from kling_gateway.services.tasks import FIRST_POLL_MS
from kling_gateway.storage.db import database, open_database
from kling_gateway.storage.migrations import migrate
from kling_gateway.storage.models import Task
from kling_gateway.worker import IDLE_SECONDS

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
ENDPOINT_SAMPLES = 50
CEILING_POLLS = 12
"""Polls after which a task's poll interval sits at the policy's ceiling (2 s x 1.5^n >= 30 s):
capacity tasks are long-running videos, polled at the ceiling."""
assert DEFAULT_POLICY.next_poll_in(CEILING_POLLS) == DEFAULT_POLICY.poll_ceiling_ms


@dataclass(frozen=True)
class Config:
    quick: bool
    latency_tasks: int
    """Tasks per callback-latency variant."""
    submit_seconds: float
    """They are submitted evenly over this long."""
    task_seconds: float
    capacity_levels: tuple[int, ...]
    floor_seconds: float
    """How long the direct-to-simulator GET floor is measured at each level."""
    sweep_timeout: float
    window_cap: float
    """Longest observation of steady-state staleness per level."""
    budget_seconds: float
    """Levels still to run are skipped once the run has taken this long."""


FULL = Config(quick=False, latency_tasks=200, submit_seconds=10.0, task_seconds=5.0,
              capacity_levels=(1000, 3000, 10000), floor_seconds=5.0, sweep_timeout=150.0,
              window_cap=100.0, budget_seconds=540.0)
QUICK = Config(quick=True, latency_tasks=40, submit_seconds=4.0, task_seconds=5.0,
               capacity_levels=(200, 1000), floor_seconds=3.0, sweep_timeout=40.0,
               window_cap=35.0, budget_seconds=110.0)
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


# ---- 1. callback latency --------------------------------------------------------------------

@dataclass
class LatencyResult:
    name: str
    description: str
    submitted: int
    submit_ms: list[float]
    end_to_end: list[float] = field(default_factory=list)
    """Upstream ``succeed`` (simulator's updated_at) to the client's ``succeed`` callback."""
    detect: list[float] = field(default_factory=list)
    """Upstream ``succeed`` to the gateway recording it (the gateway's updated_at)."""
    deliver: list[float] = field(default_factory=list)
    """The gateway recording it to the callback's arrival."""
    tick_lag: list[float] = field(default_factory=list)
    """Upstream created_at + task_seconds to the simulator's updated_at (its ticker)."""
    missing: int = 0
    in_order: int = 0
    """Tasks whose callbacks were exactly submitted, processing, succeed."""
    skipped: int = 0
    """Tasks whose callbacks came in order but without one of the statuses."""
    wall_seconds: float = 0.0
    by_position: list[tuple[int, float]] = field(default_factory=list)
    """(submission index, end-to-end ms), to see whether a backlog builds up."""
    deliveries: int = 0
    retried: int = 0
    delivery_span_s: float = math.nan
    """First to last successful delivery of these tasks' callbacks (gateway variants)."""
    endpoint_ms: list[float] = field(default_factory=list)
    """The gateway's answer time to duplicate upstream callbacks (upstream-callbacks only)."""
    polls_mean: float = math.nan
    polls_max: int = 0
    """Worker polls per task until it was final (gateway variants)."""


def collect_latency(result: LatencyResult, receiver: CallbackReceiver, simulator: KlingHttp,
                    ids: list[str], upstream_key: Callable[[str], str], task_seconds: float,
                    through_gateway: bool) -> dict[str, dict[str, Any]]:
    """Match each task's ``succeed`` callback with the upstream task as the simulator reports
    it (``upstream_key`` maps the id the client saw to an id the simulator knows)."""
    def upstream_of(task_id: str) -> dict[str, Any]:
        return simulator.get(upstream_key(task_id))

    with ThreadPoolExecutor(8) as pool:
        upstream = dict(zip(ids, pool.map(upstream_of, ids), strict=True))
    order = ["submitted", "processing", "succeed"]
    raw = []
    for index, task_id in enumerate(ids):
        statuses = receiver.statuses(task_id)
        result.in_order += statuses == order
        result.skipped += statuses != order and skipped_but_in_order(statuses, order)
        arrival = receiver.succeed(task_id)
        job = upstream[task_id]
        raw.append({"task_id": task_id, "statuses": statuses, "upstream": {
            key: job.get(key) for key in ("task_id", "task_status", "created_at", "updated_at")},
            "arrived_ms": None if arrival is None else arrival[0] * 1000,
            "gateway_updated_at": None if arrival is None else arrival[1].get("updated_at")})
        if arrival is None or job["task_status"] != "succeed":
            result.missing += 1
            continue
        arrived_ms = arrival[0] * 1000
        finished = job["updated_at"]
        result.end_to_end.append(arrived_ms - finished)
        result.by_position.append((index, arrived_ms - finished))
        result.tick_lag.append(finished - (job["created_at"] + task_seconds * 1000))
        if through_gateway:
            recorded = arrival[1]["updated_at"]  # the gateway's updated_at of its succeed
            result.detect.append(recorded - finished)
            result.deliver.append(arrived_ms - recorded)
    (LOGS / f"latency-{result.name}.json").write_text(json.dumps(raw, indent=1))
    return upstream


def skipped_but_in_order(statuses: list[str], order: list[str]) -> bool:
    """Each status at most once, all known, in the official order, ending with succeed."""
    known = all(status in order for status in statuses)
    return (known and len(set(statuses)) == len(statuses) and bool(statuses)
            and statuses[-1] == order[-1]
            and statuses == sorted(statuses, key=order.index))


def time_callback_endpoint(gateway_url: str, database_url: str,
                           upstream: dict[str, dict[str, Any]], count: int) -> list[float]:
    """How long the gateway takes to answer Kling's callback, one at a time as the simulator
    sends them: ``count`` duplicates of finished tasks' final state (harmless by design: a
    callback never moves a final task). Milliseconds each."""
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, callback_secret FROM tasks WHERE id = ANY(%s) "
                           "AND callback_secret IS NOT NULL ORDER BY id LIMIT %s",
                           (list(upstream), count))
            secrets = cursor.fetchall()
    finally:
        connection.close()
    latencies = []
    with requests.Session() as session:
        for task_id, secret in secrets:
            url = f"{gateway_url}/kling-gateway/callbacks/{task_id}/{secret}"
            response, latency = timed(lambda url=url, task_id=task_id: session.post(
                url, json=upstream[task_id], timeout=30))
            if response.status_code < 300:
                latencies.append(latency)
    return latencies


def latency_direct(config: Config, simulator: KlingHttp) -> LatencyResult:
    """The floor: tasks created on the simulator itself, which calls the receiver back."""
    with callback_receiver() as receiver:
        started = time.monotonic()
        created = spread(config.latency_tasks, config.submit_seconds, lambda i: timed(
            lambda: simulator.create({"prompt": f"bench direct {i}",
                                      "callback_url": receiver.url})))
        ids = [data["task_id"] for data, _ in created]
        receiver.wait_for_succeed(ids, config.task_seconds + 60)
        result = LatencyResult(
            "direct", "simulator → receiver, no gateway (the floor)", len(ids),
            [latency for _, latency in created], wall_seconds=time.monotonic() - started)
        collect_latency(result, receiver, simulator, ids, lambda task_id: task_id,
                        config.task_seconds, through_gateway=False)
    return result


def latency_gateway(config: Config, name: str, description: str, deployment: Deployment,
                    simulator: KlingHttp, *, public: bool) -> LatencyResult:
    """Tasks created through a gateway process, finished by a worker process; with ``public``
    the gateway has a public URL, so the simulator calls the gateway back as tasks change."""
    port = free_port()
    gateway_url = f"http://{HOST}:{port}"
    env = gateway_env(deployment.database_url,
                      KLING_GATEWAY_PUBLIC_URL=gateway_url if public else "")
    with ExitStack() as stack, callback_receiver() as receiver:
        stack.enter_context(process(f"latency-{name}-gateway",
                                    ["serve", "--no-worker", "--host", HOST, "--port", str(port)],
                                    env=env, ready_url=f"{gateway_url}/v1/openapi.json"))
        stack.enter_context(process(f"latency-{name}-worker", ["worker"], env=env,
                                    ready_log=r"worker \S+ started"))
        gateway = KlingHttp(f"{gateway_url}/kling", api_key=deployment.token.api_key)
        started = time.monotonic()
        created = spread(config.latency_tasks, config.submit_seconds, lambda i: timed(
            lambda: gateway.create({"prompt": f"bench {name} {i}",
                                    "callback_url": receiver.url})))
        ids = [data["task_id"] for data, _ in created]
        receiver.wait_for_succeed(ids, config.task_seconds + 60)
        result = LatencyResult(name, description, len(ids),
                               [latency for _, latency in created],
                               wall_seconds=time.monotonic() - started)
        # The gateway sends its own task id upstream as external_task_id.
        upstream = collect_latency(result, receiver, simulator, ids, lambda task_id: task_id,
                                   config.task_seconds, through_gateway=True)
        if public:
            result.endpoint_ms = time_callback_endpoint(gateway_url, deployment.database_url,
                                                        upstream, ENDPOINT_SAMPLES)
    connection = psycopg2.connect(deployment.database_url)
    try:
        mean, most = one_row(connection, "SELECT avg(poll_count), max(poll_count) FROM tasks "
                             "WHERE id = ANY(%s)", (ids,))
        result.polls_mean, result.polls_max = float(mean or 0), int(most or 0)
        count, retried, first, last = one_row(
            connection, "SELECT count(*), count(*) FILTER (WHERE attempts > 1), "
            "min(delivered_at), max(delivered_at) FROM callback_deliveries "
            "WHERE task_id = ANY(%s) AND delivered_at IS NOT NULL", (ids,))
        result.deliveries, result.retried = int(count), int(retried)
        if first is not None:
            result.delivery_span_s = (last - first) / 1000
    finally:
        connection.close()
    return result


def run_latency(config: Config, results: dict[str, Any]) -> None:
    with ExitStack() as stack:
        sim_port = free_port()
        sim_url = f"http://{HOST}:{sim_port}"
        concurrency = 10 * config.latency_tasks
        results["latency_simulator_args"] = simulator_args(sim_port, config.task_seconds,
                                                           concurrency)
        stack.enter_context(process("latency-simulator", results["latency_simulator_args"],
                                    env={}, ready_url=f"{sim_url}/v1/openapi.json"))
        database_url = stack.enter_context(postgres_schema())
        deployment = prepare_database(database_url, sim_url)
        simulator = KlingHttp(sim_url, SIM_AK, SIM_SK)
        variants = results.setdefault("latency", [])
        say(f"latency: direct, {config.latency_tasks} tasks")
        variants.append(latency_direct(config, simulator))
        say(f"latency: gateway, polling only, {config.latency_tasks} tasks")
        variants.append(latency_gateway(
            config, "polling", "gateway + worker, no public URL: sync by polling only",
            deployment, simulator, public=False))
        say(f"latency: gateway with upstream callbacks, {config.latency_tasks} tasks")
        variants.append(latency_gateway(
            config, "upstream-callbacks",
            "gateway + worker, KLING_GATEWAY_PUBLIC_URL set: Kling calls the gateway back",
            deployment, simulator, public=True))


# ---- 2. in-flight capacity ------------------------------------------------------------------

@dataclass
class CapacityResult:
    tasks: int
    upstream_create_rate: float = math.nan
    floor_rate: float = math.nan
    floor_p50_ms: float = math.nan
    due_to_all_polled: float = math.nan
    sweep_rate: float = math.nan
    swept: int = 0
    window_seconds: float = 0.0
    window_rate: float = math.nan
    max_staleness: float = math.nan
    staleness_lower_bound: bool = False
    over_ceiling: int = 0
    """Most in-flight tasks seen at once whose last sync was older than ceiling + 5 s."""
    worker_cpu_per_poll_ms: float = math.nan
    worker_cpu_share: float = math.nan
    simulator_cpu_per_poll_ms: float = math.nan
    probe: dict[str, Any] = field(default_factory=dict)
    total_polls: int = 0
    note: str = ""


def create_upstream(simulator: KlingHttp, count: int) -> tuple[list[str], float]:
    started = time.monotonic()
    with ThreadPoolExecutor(8, thread_name_prefix="create") as pool:
        ids = list(pool.map(lambda i: simulator.create({"prompt": f"capacity {i}"})["task_id"],
                            range(count)))
    return ids, count / max(time.monotonic() - started, 1e-9)


def insert_in_flight(deployment: Deployment, upstream_ids: Sequence[str], first: int) -> None:
    """Gateway rows for upstream tasks: 'processing', charged nothing, not yet due."""
    now = int(time.time() * 1000)
    rows = [{"id": f"bench{first + index:010d}", "user": deployment.user_id,
             "token": deployment.token.token.id, "channel": deployment.channel_id,
             "family": "text2video", "model_name": "kling-v1", "mode": "std", "duration": "5",
             "price_key": "bench", "amount": 0, "upstream_task_id": upstream_id,
             "status": "processing", "status_msg": "", "request_body": {"prompt": "capacity"},
             "created_at": now, "updated_at": now, "synced_at": now,
             "next_poll_at": now + 10 * 365 * 86_400_000, "poll_count": CEILING_POLLS}
            for index, upstream_id in enumerate(upstream_ids)]
    open_database(deployment.database_url)
    try:
        with database.atomic():
            for start in range(0, len(rows), 1000):
                Task.insert_many(rows[start:start + 1000]).execute()
    finally:
        database.close()


def measure_floor(simulator: KlingHttp, ids: Sequence[str], seconds: float,
                  threads: int) -> tuple[float, float]:
    """GETs straight to the simulator with the worker's per-channel concurrency: requests per
    second and p50 latency in ms. What one channel can answer at best."""
    deadline = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(threads)]

    def client(slot: int) -> None:
        rng = random.Random(slot)
        while time.monotonic() < deadline:
            latencies[slot].append(timed(lambda: simulator.get(rng.choice(ids)))[1])

    started = time.monotonic()
    with ThreadPoolExecutor(threads, thread_name_prefix="floor") as pool:
        list(pool.map(client, range(threads)))
    flat = [value for chunk in latencies for value in chunk]
    return len(flat) / (time.monotonic() - started), percentile(flat, 0.5)


def one_row(connection: Any, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def measure_level(config: Config, deployment: Deployment, connection: Any, simulator_pid: int,
                  result: CapacityResult) -> None:
    """Start one worker on K idle in-flight tasks, make them all due at once (as if last synced
    one poll ceiling ago), time the sweep, then watch staleness while the worker keeps them
    current."""
    k = result.tasks
    ceiling_ms = DEFAULT_POLICY.poll_ceiling_ms
    probe_file = LOGS / f"capacity-worker-{k}.json"
    probe_file.unlink(missing_ok=True)
    env = gateway_env(deployment.database_url, BENCH_PROBE_OUT=str(probe_file))
    with process(f"capacity-worker-{k}", [], env=env, ready_log=r"worker \S+ started",
                 command=[sys.executable, str(BENCH / "worker_probe.py")]) as worker:
        cpu_worker, cpu_sim = cpu_seconds(worker.pid), cpu_seconds(simulator_pid)
        due = int(time.time() * 1000)
        with connection.cursor() as cursor:
            cursor.execute("UPDATE tasks SET next_poll_at = %s, synced_at = %s, poll_count = %s, "
                           "lease_owner = NULL, lease_until = NULL WHERE status = 'processing'",
                           (due, due - ceiling_ms, CEILING_POLLS))
        due_at = time.monotonic()
        first_seen: tuple[float, int] | None = None
        deadline = due_at + config.sweep_timeout
        while True:
            (left,) = one_row(connection, "SELECT count(*) FROM tasks WHERE status = "
                              "'processing' AND poll_count <= %s", (CEILING_POLLS,))
            now = time.monotonic()
            if first_seen is None and left < k:
                first_seen = (now, k - left)
            if left == 0 or now > deadline or worker.poll() is not None:
                break
            time.sleep(0.2)
        sweep_seconds = now - due_at
        result.swept = k - left
        result.due_to_all_polled = sweep_seconds if left == 0 else math.nan
        if first_seen is not None and now > first_seen[0]:
            result.sweep_rate = (result.swept - first_seen[1]) / (now - first_seen[0])
        worker_cpu = cpu_seconds(worker.pid) - cpu_worker
        result.worker_cpu_per_poll_ms = worker_cpu * 1000 / max(result.swept, 1)
        result.worker_cpu_share = worker_cpu / max(sweep_seconds, 1e-9)
        result.simulator_cpu_per_poll_ms = (cpu_seconds(simulator_pid) - cpu_sim) * 1000 / max(
            result.swept, 1)
        (polls_before,) = one_row(connection, "SELECT coalesce(sum(poll_count), 0) FROM tasks "
                                  "WHERE status = 'processing'")
        if left:
            # The worker cannot keep K current: staleness only grows; what it is now is a
            # lower bound, and watching it longer would only make the run longer.
            result.note = (f"sweep incomplete: {result.swept:,} of {k:,} polled in "
                           f"{config.sweep_timeout:.0f} s; at this rate a sweep takes "
                           f"~{k / result.sweep_rate:.0f} s" if result.sweep_rate else
                           f"sweep incomplete: {result.swept:,} of {k:,} polled")
            result.staleness_lower_bound = True
            window = 0.0
        else:
            # Steady state: every task is due again one ceiling after its last poll.
            window = min(max(ceiling_ms / 1000 + (5 if config.quick else 15),
                             1.3 * sweep_seconds), config.window_cap)
        window_start = time.monotonic()
        while True:
            now_ms = int(time.time() * 1000)
            staleness, stale = one_row(
                connection, "SELECT max(%s - synced_at), count(*) FILTER (WHERE %s - synced_at"
                " > %s) FROM tasks WHERE status = 'processing'",
                (now_ms, now_ms, ceiling_ms + 5000))
            result.max_staleness = max(staleness / 1000, 0 if math.isnan(
                result.max_staleness) else result.max_staleness)
            result.over_ceiling = max(result.over_ceiling, stale)
            if time.monotonic() - window_start >= window or worker.poll() is not None:
                break
            time.sleep(1.0)
        result.window_seconds = time.monotonic() - window_start
        (polls_after,) = one_row(connection, "SELECT coalesce(sum(poll_count), 0) FROM tasks "
                                 "WHERE status = 'processing'")
        if window:
            result.window_rate = (polls_after - polls_before) / max(result.window_seconds, 1e-9)
        result.total_polls = int(polls_after) - k * CEILING_POLLS
    if probe_file.exists():
        result.probe = json.loads(probe_file.read_text())


def run_capacity(config: Config, results: dict[str, Any]) -> None:
    levels = results.setdefault("capacity", [])
    with ExitStack() as stack:
        sim_port = free_port()
        sim_url = f"http://{HOST}:{sim_port}"
        results["capacity_simulator_args"] = simulator_args(sim_port, 86_400, 10_000_000)
        simulator_process = stack.enter_context(process(
            "capacity-simulator", results["capacity_simulator_args"], env={},
            ready_url=f"{sim_url}/v1/openapi.json"))
        database_url = stack.enter_context(postgres_schema())
        deployment = prepare_database(database_url, sim_url)
        connection = psycopg2.connect(database_url)
        stack.callback(connection.close)
        connection.autocommit = True
        simulator = KlingHttp(sim_url, SIM_AK, SIM_SK)
        upstream_ids: list[str] = []
        for k in config.capacity_levels:
            result = CapacityResult(k)
            if elapsed() > config.budget_seconds:
                result.note = f"skipped: the run had already taken {elapsed():.0f} s"
                levels.append(result)
                say(f"capacity K={k}: {result.note}")
                continue
            say(f"capacity K={k}: creating {k - len(upstream_ids)} more upstream tasks")
            new_ids, result.upstream_create_rate = create_upstream(simulator,
                                                                   k - len(upstream_ids))
            insert_in_flight(deployment, new_ids, len(upstream_ids))
            upstream_ids += new_ids
            say(f"capacity K={k}: direct GET floor for {config.floor_seconds:.0f} s")
            result.floor_rate, result.floor_p50_ms = measure_floor(
                simulator, upstream_ids, config.floor_seconds, DEFAULT_POLICY.per_channel)
            say(f"capacity K={k}: one worker, sweep then steady state")
            measure_level(config, deployment, connection, simulator_process.pid, result)
            levels.append(result)
            say(f"capacity K={k}: sweep {result.due_to_all_polled:.1f} s, "
                f"{result.sweep_rate:.0f} polls/s, floor {result.floor_rate:.0f} req/s, "
                f"max staleness {result.max_staleness:.1f} s")


# ---- the report -----------------------------------------------------------------------------

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


def latency_section(config: Config, variants: list[LatencyResult]) -> list[str]:
    lines = [
        "## 1. Callback latency",
        "",
        f"{config.latency_tasks} text2video tasks per variant, submitted evenly over "
        f"{config.submit_seconds:g} s (8 client threads), each with a `callback_url` on a local "
        f"receiver; the simulator's tasks take {config.task_seconds:g} s. The variants run one "
        "after the other in this run, against the same simulator process.",
        "",
        "**Definition.** *t_finish* is the `updated_at` of the upstream task in state `succeed` "
        "as the simulator reports it afterwards (`GET` on the simulator): the moment the "
        "simulator marked it finished, which is when Kling itself would call back. *Arrival* "
        "is `time.time()` in the receiver as the `succeed` callback's request is read. All "
        "processes share this machine's clock. Latency = arrival - t_finish, in ms.",
        "",
        "| variant | tasks | succeed received | submitted→processing→succeed | in order, a "
        "status skipped | p50 | p90 | p99 | max |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v in variants:
        s = summary(v.end_to_end)
        lines.append(f"| {v.name}: {v.description} | {v.submitted} | {v.submitted - v.missing} "
                     f"| {v.in_order} | {v.skipped} | {ms(s['p50'])} | {ms(s['p90'])} | "
                     f"{ms(s['p99'])} | {ms(s['max'])} |")
    lines += ["", "Backlog: p50 latency (ms) of the first and the last fifth of the tasks, in "
              "submission order; callbacks the worker delivered for them, and over how long:",
              "", "| variant | first fifth p50 | last fifth p50 | callbacks delivered | retried "
              "| first → last delivery s | per s |", "|---|---|---|---|---|---|---|"]
    for v in variants:
        fifth = max(v.submitted // 5, 1)
        first = [value for index, value in v.by_position if index < fifth]
        last = [value for index, value in v.by_position if index >= v.submitted - fifth]
        span = v.delivery_span_s
        rate = v.deliveries / span if span and not math.isnan(span) else math.nan
        delivered = "n/a" if math.isnan(span) else f"{v.deliveries} | {v.retried} | {span:.1f} "\
            f"| {rate:.1f}"
        if math.isnan(span):
            delivered = "n/a | n/a | n/a | n/a"
        lines.append(f"| {v.name} | {ms(percentile(first, 0.5))} | {ms(percentile(last, 0.5))} "
                     f"| {delivered} |")
    lines += ["", "Where the gateway's time goes (ms): *detect* = t_finish → the gateway records "
              "`succeed` (its `updated_at`, which the client's callback carries); *deliver* = "
              "that → arrival at the receiver; *polls* = the worker's upstream polls per task "
              "(mean / max); *submit* = the client-side latency of the create call.", "",
              "| variant | detect p50 | detect p99 | detect max | deliver p50 | deliver p99 | "
              "deliver max | polls | submit p50 | submit p99 |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for v in variants:
        d, r, sub = summary(v.detect), summary(v.deliver), summary(v.submit_ms)
        polls = "n/a" if math.isnan(v.polls_mean) else f"{v.polls_mean:.1f} / {v.polls_max}"
        lines.append(f"| {v.name} | {ms(d['p50'])} | {ms(d['p99'])} | {ms(d['max'])} | "
                     f"{ms(r['p50'])} | {ms(r['p99'])} | {ms(r['max'])} | {polls} | "
                     f"{ms(sub['p50'])} | {ms(sub['p99'])} |")
    for v in variants:
        if v.endpoint_ms:
            e = summary(v.endpoint_ms)
            lines += ["", f"The simulator sends its callbacks one at a time, each waiting for the "
                      f"answer. The gateway's callback endpoint, timed after the {v.name} run "
                      f"with {e['n']} duplicate `succeed` callbacks posted one after the other "
                      f"(no state change): p50 {e['p50']:.1f} ms, p99 {e['p99']:.1f} ms, max "
                      f"{e['max']:.1f} ms."]
    lag = summary([lag for v in variants for lag in v.tick_lag])
    schedule, at = [], FIRST_POLL_MS
    for polls in range(6):
        schedule.append(f"{at / 1000:g}")
        at += DEFAULT_POLICY.next_poll_in(polls)
    lines += [
        "",
        f"Context: the simulator marks a task `succeed` up to one ticker interval (50 ms) after "
        f"created_at + task_seconds (measured: p50 {ms(lag['p50'])} ms, max {ms(lag['max'])} ms; "
        "not counted above). Without a public URL a task is polled at about "
        f"{', '.join(schedule)} … s after submit (then every "
        f"{DEFAULT_POLICY.poll_ceiling_ms // 1000} s), as the worker's passes, its per-channel "
        f"limits and its {IDLE_SECONDS:g} s idle wait allow; the callback loop also waits "
        f"{IDLE_SECONDS:g} s whenever a pass found nothing to send.",
        "",
    ]
    return lines


def capacity_section(config: Config, levels: list[CapacityResult]) -> list[str]:
    policy = DEFAULT_POLICY
    policy_text = ", ".join(f"{name}={value}" for name, value in asdict(policy).items())
    lines = [
        "## 2. In-flight capacity of one worker",
        "",
        "K upstream tasks are created on a simulator whose tasks take a day, and K gateway rows "
        "in state `processing` point at them (inserted directly in the database, already polled "
        f"{CEILING_POLLS} times, so their poll interval is at the {policy.poll_ceiling_ms // 1000}"
        " s ceiling, as for a long video). One worker (`kling-gateway worker`, run through "
        "`bench/worker_probe.py`, one channel) is started, then every task is made due at "
        "once, as if last synced one ceiling ago. Ties are claimed oldest first (gateway ids "
        "grow with time, as real ones do). The worker's policy, as the code under test "
        f"defines it: `{policy_text}`.",
        "",
        "- *single-GET floor*: GETs of one task each, straight to the simulator from this "
        f"script with {policy.per_channel} in flight, just before the worker runs: what one "
        "channel answers without the gateway and without a pace (the worker may beat it by "
        "reading lists).",
        "- *sweep*: from \"all due\" until every task was polled once; the rate is measured "
        "from the first poll seen, so the worker's 1 s idle wait is excluded.",
        "- *staleness*: the age of the oldest `synced_at` among the K tasks, sampled every "
        "second while the worker keeps running after the sweep; the max is reported. The "
        f"policy's best is ~{policy.poll_ceiling_ms // 1000} s. When the sweep does not finish "
        "in time, the value at that moment is reported as a lower bound (≥).",
        "",
        "| K | single-GET floor req/s (p50 ms) | sweep: all polled after s | sweep polls/s | "
        "window s | steady polls/s | max staleness s | tasks > ceiling+5 s | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in levels:
        bound = "≥ " if r.staleness_lower_bound else ""
        lines.append(
            f"| {r.tasks:,} | {r.floor_rate:,.0f} ({r.floor_p50_ms:.1f}) | "
            f"{r.due_to_all_polled:.1f} | {r.sweep_rate:,.0f} | {r.window_seconds:.0f} | "
            f"{r.window_rate:,.1f} | {bound}{r.max_staleness:.1f} | {r.over_ceiling:,} | "
            f"{r.note} |".replace("| nan |", "| n/a |").replace("| nan |", "| n/a |"))
    lines += ["", "Where the worker's time goes, per poll, averaged over every poll of the level "
              "(sweep and window); times are wall time summed over the worker's threads, counted "
              "by `bench/worker_probe.py`; CPU is over the sweep only:", "",
              "| K | polls | worker CPU ms/poll (share of a core) | simulator CPU ms/poll | "
              "upstream requests /poll | upstream ms /poll | pace wait ms /poll | PostgreSQL "
              "connects /poll | SQL statements /poll | SQL ms /poll |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in levels:
        p, polls = r.probe, max(r.total_polls, 1)
        if not p:
            continue
        lines.append(
            f"| {r.tasks:,} | {r.total_polls:,} | {r.worker_cpu_per_poll_ms:.2f} "
            f"({r.worker_cpu_share * 100:.0f} %) | {r.simulator_cpu_per_poll_ms:.2f} | "
            f"{p['upstream_calls'] / polls:.2f} | {p['upstream_seconds'] * 1000 / polls:.2f} | "
            f"{p.get('pace_seconds', 0) * 1000 / polls:.2f} | {p['connects'] / polls:.2f} | "
            f"{p['statements'] / polls:.1f} | {p['statement_seconds'] * 1000 / polls:.2f} |")
    kinds: dict[str, int] = {}
    for r in levels:
        for kind, count in r.probe.get("statements_by_kind", {}).items():
            kinds[kind] = kinds.get(kind, 0) + count
    total_polls = sum(r.total_polls for r in levels if r.probe)
    if kinds and total_polls:
        mix = ", ".join(f"{kind} {count / total_polls:.2f}"
                        for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1]))
        lines += ["", f"SQL statements per poll by kind, all levels: {mix}."]
    creation = ", ".join(f"{r.upstream_create_rate:,.0f}/s up to K={r.tasks:,}"
                         for r in levels if not math.isnan(r.upstream_create_rate))
    lines += ["", f"Upstream tasks were created on the simulator (8 client threads) at "
              f"{creation}.", ""]
    return lines


def write_report(config: Config, results: dict[str, Any], facts: dict[str, str],
                 command: str, load_before: str, failure: str | None) -> None:
    lines = [
        "# Benchmark: background sync (issue 5)",
        "",
        f"Generated by `{command}` on {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, in "
        f"{elapsed():.0f} s{QUICK_NOTE if config.quick else ''}.",
        "",
        "## Machine",
        "",
        *[f"- {name}: {value}" for name, value in facts.items()],
        f"- load average (1, 5, 15 min) before: {load_before}; after: {load_average()} "
        "(other work on the machine shares the 2 cores and skews the numbers)",
        "",
        "Processes, all on 127.0.0.1: the simulator (`kling-gateway "
        + " ".join(results.get("latency_simulator_args", ["simulator", "…"])).replace(
            SIM_SK, "…") + "`), the gateway (`kling-gateway serve --no-worker`), one worker "
        "(`kling-gateway worker`), PostgreSQL, and this script (client and callback receiver).",
        "",
    ]
    if failure:
        lines += ["## The run failed", "", "```", failure.rstrip(), "```", ""]
    for key, section in (("latency", latency_section), ("capacity", capacity_section)):
        if results.get(key):
            try:
                lines += section(config, results[key])
            except Exception:  # the code under test moved: still write what can be written
                lines += [f"## {key}: the report section failed", "", "```",
                          traceback.format_exc().rstrip(), "```", ""]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller numbers, about 2 minutes (the full run takes about 10)")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    command = ".venv/bin/python bench/run.py" + (" --quick" if args.quick else "")
    LOGS.mkdir(exist_ok=True)
    for stale in [*LOGS.glob("*.log"), *LOGS.glob("*.json")]:  # this run's logs only
        stale.unlink()
    (LOGS / "run.log").write_text("", encoding="utf-8")
    facts = machine()
    load_before = load_average()
    results: dict[str, Any] = {}
    failure = None
    say(f"{command}: logs in {LOGS.relative_to(ROOT)}/")
    try:
        run_latency(config, results)
        run_capacity(config, results)
    except BaseException:  # a partial report still says what ran; Ctrl-C included
        failure = traceback.format_exc()
        say("failed:\n" + failure)
    finally:
        write_report(config, results, facts, command, load_before, failure)
        say(f"wrote {RESULTS.relative_to(ROOT)}")
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main())
