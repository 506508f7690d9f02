"""Figure: K tasks in flight finish upstream at about the same time (issue 6); how long until
the gateway has them all final, with the per-channel request limits kept."""

from __future__ import annotations

import json
import math
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import requests
from harness import (
    BENCH,
    HOST,
    LOGS,
    SIM_AK,
    SIM_SK,
    T2V,
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
)

from kling_gateway import kling_jwt
from kling_gateway.simulator.tasks import PROCESSING_SHARE
from kling_gateway.worker.policy import DEFAULT_POLICY

KEY = "sync_finish"
CEILING_POLLS = 12
"""Polls after which a task's poll interval sits at the policy's ceiling (2 s x 1.5^n >= 30 s)."""
assert DEFAULT_POLICY.next_poll_in(CEILING_POLLS) == DEFAULT_POLICY.poll_ceiling_ms
TARGET_SECONDS = 2 * DEFAULT_POLICY.poll_ceiling_ms / 1000


@dataclass(frozen=True)
class Config:
    tasks: int
    task_seconds: float
    """The simulator's task duration: long enough that every task is created, the gateway
    holds it as ``processing`` at the poll ceiling and the worker runs before any finishes."""
    finish_timeout: float
    """Longest wait after the last upstream finish."""


FULL = Config(tasks=10_000, task_seconds=100.0, finish_timeout=150.0)
QUICK = Config(tasks=1_000, task_seconds=25.0, finish_timeout=90.0)


@dataclass
class FinishResult:
    tasks: int
    create_seconds: float = math.nan
    worker_lead_seconds: float = math.nan
    """From the worker's start to the first upstream finish."""
    finish_spread_seconds: float = math.nan
    """First to last upstream finish."""
    all_final_after_seconds: float = math.nan
    """From the last upstream finish until the gateway recorded the last task final."""
    final: int = 0
    lag_ms: dict[str, float] = field(default_factory=dict)
    """Per task: the gateway's ``succeed`` (its updated_at) minus the upstream's."""
    polls: int = 0
    probe_run: dict[str, Any] = field(default_factory=dict)
    """Worker counters from its start until all were final."""
    probe_finish: dict[str, Any] = field(default_factory=dict)
    """Worker counters from the first upstream finish until all were final."""
    worker_cpu_seconds: float = math.nan
    simulator_cpu_seconds: float = math.nan
    """Both from the first upstream finish until all were final."""
    note: str = ""


def run(quick: bool, results: dict[str, Any]) -> None:
    config = QUICK if quick else FULL
    result = FinishResult(config.tasks)
    results[KEY] = result
    with ExitStack() as stack:
        sim_port = free_port()
        sim_url = f"http://{HOST}:{sim_port}"
        results["sync_finish_simulator_args"] = simulator_args(sim_port, config.task_seconds,
                                                               10_000_000)
        simulator_process = stack.enter_context(process(
            "finish-simulator", results["sync_finish_simulator_args"], env={},
            ready_url=f"{sim_url}/v1/openapi.json"))
        database_url = stack.enter_context(postgres_schema())
        deployment = prepare_database(database_url, sim_url)
        connection = psycopg2.connect(database_url)
        stack.callback(connection.close)
        connection.autocommit = True
        say(f"sync finish: creating {config.tasks:,} upstream tasks of "
            f"{config.task_seconds:.0f} s")
        started = time.monotonic()
        created = create_upstream(KlingHttp(sim_url, SIM_AK, SIM_SK), config.tasks)
        result.create_seconds = time.monotonic() - started
        # The gateway holds them as 'processing': wait until the simulator says so too.
        last_processing = max(created.values()) / 1000 + config.task_seconds * PROCESSING_SHARE
        time.sleep(max(last_processing + 0.2 - time.time(), 0))
        insert_at_ceiling(deployment, created)
        measure(config, deployment, connection, simulator_process.pid, created, sim_url, result)
    say(f"sync finish: all {result.final:,} final {result.all_final_after_seconds:.1f} s after "
        f"the last upstream finish (target ≤ {TARGET_SECONDS:.0f} s)")


def create_upstream(simulator: KlingHttp, count: int) -> dict[str, int]:
    """Upstream task id → its created_at (ms), from 8 client threads."""
    with ThreadPoolExecutor(8, thread_name_prefix="create") as pool:
        answers = list(pool.map(lambda i: simulator.create({"prompt": f"finish {i}"}),
                                range(count)))
    return {answer["task_id"]: int(answer["created_at"]) for answer in answers}


def insert_at_ceiling(deployment: Deployment, created: dict[str, int]) -> None:
    """Gateway rows for the upstream tasks, as a worker that has polled them for a while leaves
    them: 'processing', at the poll ceiling, last synced at random within the last ceiling (so
    their next polls are spread over the coming one), created at the gateway just before
    upstream, charged nothing, no client callback."""
    ceiling = DEFAULT_POLICY.poll_ceiling_ms
    now = int(time.time() * 1000)
    draw = random.Random(6)
    rows = []
    for index, (upstream_id, upstream_created) in enumerate(created.items()):
        synced = now - draw.randrange(ceiling)
        rows.append(task_row(
            deployment, f"finish{index:010d}", upstream_task_id=upstream_id,
            status="processing", request_body={"prompt": "finish"},
            created_at=upstream_created - 20, updated_at=now, synced_at=synced,
            next_poll_at=synced + ceiling, poll_count=CEILING_POLLS))
    insert_tasks(deployment, rows)


def read_probe(path: Any) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def measure(config: Config, deployment: Deployment, connection: Any, simulator_pid: int,
            created: dict[str, int], sim_url: str, result: FinishResult) -> None:
    probe_file = LOGS / "finish-worker.json"
    probe_file.unlink(missing_ok=True)
    env = gateway_env(deployment.database_url, BENCH_PROBE_OUT=str(probe_file))
    first_finish = min(created.values()) / 1000 + config.task_seconds
    last_finish = max(created.values()) / 1000 + config.task_seconds
    with process("finish-worker", [], env=env, ready_log=r"worker \S+ started",
                 command=[sys.executable, str(BENCH / "worker_probe.py")]) as worker:
        result.worker_lead_seconds = first_finish - time.time()
        say(f"sync finish: worker started {result.worker_lead_seconds:.1f} s before the first "
            f"upstream finish; finishes spread over {last_finish - first_finish:.1f} s")
        time.sleep(max(first_finish - time.time(), 0))
        at_first = read_probe(probe_file)
        cpu_worker, cpu_sim = cpu_seconds(worker.pid), cpu_seconds(simulator_pid)
        deadline = last_finish + config.finish_timeout
        while True:
            (final,) = one_row(connection, "SELECT count(*) FROM tasks WHERE status IN "
                               "('succeed', 'failed')")
            if final == config.tasks or time.time() > deadline or worker.poll() is not None:
                break
            time.sleep(0.5)
        result.worker_cpu_seconds = cpu_seconds(worker.pid) - cpu_worker
        result.simulator_cpu_seconds = cpu_seconds(simulator_pid) - cpu_sim
        time.sleep(1.2)  # the probe writes its counters every second
        at_end = read_probe(probe_file)
    result.final = final
    result.probe_run = at_end
    result.probe_finish = {key: value - at_first.get(key, 0) for key, value in at_end.items()
                           if isinstance(value, (int, float)) and "max" not in key}
    (result.polls,) = one_row(connection, "SELECT coalesce(sum(poll_count), 0) - %s FROM tasks",
                              (config.tasks * CEILING_POLLS,))
    finished = upstream_finishes(sim_url, config.tasks)
    gateway = dict(one_row_all(connection, "SELECT upstream_task_id, updated_at FROM tasks "
                               "WHERE status IN ('succeed', 'failed')"))
    lags = [gateway[task_id] - finished[task_id] for task_id in gateway if task_id in finished]
    result.lag_ms = {"p50": percentile(lags, 0.5), "p90": percentile(lags, 0.9),
                     "p99": percentile(lags, 0.99), "max": max(lags, default=math.nan)}
    if finished:
        result.finish_spread_seconds = (max(finished.values()) - min(finished.values())) / 1000
    if final == config.tasks and finished:
        result.all_final_after_seconds = (max(gateway.values()) - max(finished.values())) / 1000
    else:
        result.note = (f"only {final:,} of {config.tasks:,} final {config.finish_timeout:.0f} s "
                       "after the last upstream finish")


def one_row_all(connection: Any, sql: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def upstream_finishes(sim_url: str, count: int) -> dict[str, int]:
    """Upstream task id → when the simulator marked it final (its updated_at, ms), read from
    its list, 500 a page."""
    token = kling_jwt.sign(SIM_AK, SIM_SK, now=time.time())
    finished: dict[str, int] = {}
    with requests.Session() as session:
        for page in range(1, count // 500 + 2):
            answer = session.get(f"{sim_url}{T2V}", params={"pageNum": page, "pageSize": 500},
                                 headers={"Authorization": f"Bearer {token}"}, timeout=60)
            rows = answer.json()["data"]
            finished.update({row["task_id"]: int(row["updated_at"]) for row in rows
                             if row["task_status"] in ("succeed", "failed")})
            if len(rows) < 500:
                break
    return finished


def section(quick: bool, results: dict[str, Any]) -> list[str]:
    config = QUICK if quick else FULL
    r: FinishResult = results[KEY]
    policy = DEFAULT_POLICY
    run, fin = r.probe_run, r.probe_finish
    met = r.all_final_after_seconds <= TARGET_SECONDS
    verdict = ("met" if met else "**missed**") if not math.isnan(r.all_final_after_seconds) \
        else "**missed** (not all final)"
    in_flight_ok = run.get("upstream_max_in_flight", math.inf) <= policy.per_channel
    rate_ok = run.get("pace_max_per_second", math.inf) <= policy.per_channel_rps
    per_task = max(r.tasks, 1)
    sim_args = " ".join(results.get("sync_finish_simulator_args", [])).replace(SIM_SK, "…")
    lines = [
        "## Ten thousand tasks finish at once (issue 6, figure 4)",
        "",
        f"**Target:** {r.tasks:,} tasks in flight on one channel are all final within two poll "
        f"intervals ({TARGET_SECONDS:.0f} s) of the simulator finishing them, with the "
        f"per-channel request limits respected (≤ {policy.per_channel} requests in flight, "
        f"≤ {policy.per_channel_rps:.0f} started per second). **Result: {verdict}** — all "
        f"final {r.all_final_after_seconds:.1f} s after the last upstream finish; in flight "
        f"at most {run.get('upstream_max_in_flight', 'n/a')} "
        f"({'kept' if in_flight_ok else '**exceeded**'}); the channel's pace let at most "
        f"{run.get('pace_max_per_second', 'n/a')} requests go in any one second "
        f"({'kept' if rate_ok else '**exceeded**'}), and at most "
        f"{run.get('upstream_max_per_second', 'n/a')} were seen starting in any one second "
        "(a request starts a few ms after the pace lets it go, after thread switches on this "
        "busy machine, so starts can bunch slightly; both sliding windows, counted by the "
        "probe over the whole run).",
        "",
        f"How: {r.tasks:,} text2video tasks are created on the simulator (`kling-gateway "
        f"{sim_args}`, 8 client threads, {r.create_seconds:.1f} s), so each finishes "
        f"{config.task_seconds:.0f} s after its creation; their finishes are therefore spread "
        f"over {r.finish_spread_seconds:.1f} s, as fast as they could be created. Once the "
        "simulator reports them all `processing`, one gateway row per task is inserted in the "
        "database as a worker that had been polling them for a while leaves it: `processing`, "
        f"polled {CEILING_POLLS} times (so at the {policy.poll_ceiling_ms // 1000} s ceiling), "
        f"last synced at a random moment of the last {policy.poll_ceiling_ms // 1000} s (so "
        "their next polls are spread over the coming ceiling), created at the gateway 20 ms "
        "before upstream, no client `callback_url` (so no callbacks to deliver; each final "
        "state still goes through the state machine). Then one worker "
        "(`kling-gateway worker` through "
        "`bench/worker_probe.py`, default policy) starts, "
        f"{r.worker_lead_seconds:.1f} s before the first upstream finish. *All final after* "
        "is the last gateway `updated_at` (when it recorded the last `succeed`) minus the last "
        "upstream `updated_at` (when the simulator finished the last task); both clocks are "
        "this machine's. *Lag* is the same difference per task.",
        "",
        "How the worker keeps up: it reads these tasks from Kling's list, 500 a page; one walk "
        "of the list per pass takes every due task of the channel and family along (and those "
        f"due within the next {policy.list_ahead_ms / 1000:.0f} s, since a walk costs the same "
        "however many it reads), down to where the list is older than the oldest of them; a "
        "task whose state moved goes through the state machine on the worker's thread pool "
        "while the next pages are read, and the rest only get their poll recorded, a few "
        "`UPDATE`s for all of them.",
        "",
        "| tasks | final | finishes spread s | all final after s (target ≤ 60) | lag p50 s | "
        "lag p90 s | lag p99 s | lag max s | worker polls /task | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {r.tasks:,} | {r.final:,} | {r.finish_spread_seconds:.1f} | "
        f"{r.all_final_after_seconds:.1f} | {r.lag_ms.get('p50', math.nan) / 1000:.1f} | "
        f"{r.lag_ms.get('p90', math.nan) / 1000:.1f} | "
        f"{r.lag_ms.get('p99', math.nan) / 1000:.1f} | "
        f"{r.lag_ms.get('max', math.nan) / 1000:.1f} | {r.polls / per_task:.2f} | {r.note} |",
        "",
        "What the worker spent, counted by the probe, per task (divided by the "
        f"{r.tasks:,} tasks): over the whole run (start → all final), and from the first "
        "upstream finish until all were final:",
        "",
        "| span | upstream requests | upstream requests /task | SQL statements /task | "
        "SQL ms /task | pace wait s | worker CPU s | simulator CPU s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, counters, cpu in (("whole run", run, (math.nan, math.nan)),
                                ("finishing", fin, (r.worker_cpu_seconds,
                                                    r.simulator_cpu_seconds))):
        if not counters:
            continue
        lines.append(
            f"| {name} | {counters.get('upstream_calls', 0):,} | "
            f"{counters.get('upstream_calls', 0) / per_task:.3f} | "
            f"{counters.get('statements', 0) / per_task:.2f} | "
            f"{counters.get('statement_seconds', 0) * 1000 / per_task:.2f} | "
            f"{counters.get('pace_seconds', 0):.1f} | {cpu[0]:.1f} | {cpu[1]:.1f} |"
            .replace("| nan |", "| n/a |").replace("| nan |", "| n/a |"))
    kinds = run.get("statements_by_kind", {})
    if kinds:
        mix = ", ".join(f"{kind} {count / per_task:.2f}"
                        for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1]))
        lines += ["", f"SQL statements per task by kind, whole run: {mix}."]
    lines += [""]
    return lines
