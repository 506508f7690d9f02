"""Figure: in-flight capacity of one worker (issue 5): K tasks in flight at the poll ceiling,
one worker; how long one sweep takes and how stale tasks get."""

from __future__ import annotations

import json
import math
import random
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg2
from harness import (
    BENCH,
    HOST,
    LOGS,
    SIM_AK,
    SIM_SK,
    Deployment,
    KlingHttp,
    cpu_seconds,
    free_port,
    gateway_env,
    insert_tasks,
    one_row,
    percentile,
    postgres_schema,
    prepare_database,
    process,
    say,
    simulator_args,
    task_row,
    timed,
)

from kling_gateway.worker.policy import DEFAULT_POLICY

KEY = "worker_capacity"


@dataclass(frozen=True)
class Config:
    quick: bool
    capacity_levels: tuple[int, ...]
    floor_seconds: float
    """How long the direct-to-simulator GET floor is measured at each level."""
    sweep_timeout: float
    window_cap: float
    """Longest observation of steady-state staleness per level."""
    budget_seconds: float
    """Levels still to run are skipped once this figure has taken this long."""


FULL = Config(quick=False, capacity_levels=(1000, 3000, 10000), floor_seconds=5.0,
              sweep_timeout=150.0, window_cap=100.0, budget_seconds=540.0)
QUICK = Config(quick=True, capacity_levels=(200, 1000), floor_seconds=3.0, sweep_timeout=40.0,
               window_cap=35.0, budget_seconds=110.0)
CEILING_POLLS = 12
"""Polls after which a task's poll interval sits at the policy's ceiling (2 s x 1.5^n >= 30 s):
capacity tasks are long-running videos, polled at the ceiling."""
assert DEFAULT_POLICY.next_poll_in(CEILING_POLLS) == DEFAULT_POLICY.poll_ceiling_ms


def run(quick: bool, results: dict[str, Any]) -> None:
    run_capacity(QUICK if quick else FULL, results)


def section(quick: bool, results: dict[str, Any]) -> list[str]:
    return capacity_section(QUICK if quick else FULL, results[KEY])

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
    rows = [task_row(deployment, f"bench{first + index:010d}", upstream_task_id=upstream_id,
                     status="processing", request_body={"prompt": "capacity"},
                     created_at=now, updated_at=now, synced_at=now,
                     next_poll_at=now + 10 * 365 * 86_400_000, poll_count=CEILING_POLLS)
            for index, upstream_id in enumerate(upstream_ids)]
    insert_tasks(deployment, rows)


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
    started = time.monotonic()
    levels = results.setdefault(KEY, [])
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
            if time.monotonic() - started > config.budget_seconds:
                result.note = (f"skipped: the figure had already taken "
                               f"{time.monotonic() - started:.0f} s")
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



def capacity_section(config: Config, levels: list[CapacityResult]) -> list[str]:
    policy = DEFAULT_POLICY
    policy_text = ", ".join(f"{name}={value}" for name, value in asdict(policy).items())
    lines = [
        "## In-flight capacity of one worker (issue 5)",
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
