"""Figure: queue drain rate (issue 14): a burst queued behind a full channel; how fast the
gateway sends it on as the channel's slots free up, against the channel's capacity."""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import requests
from harness import (
    HOST,
    LOGS,
    SIM_AK,
    SIM_SK,
    T2V,
    KlingHttp,
    free_port,
    gateway_env,
    one_row,
    percentile,
    postgres_schema,
    prepare_database,
    process,
    say,
    simulator_args,
    spread,
)

from kling_gateway import kling_jwt

KEY = "queue_drain"
TARGET_SHARE = 0.9
"""The drain keeps the channel at least this busy: a freed slot is used at once."""
SUBMIT_THREADS = 8


@dataclass(frozen=True)
class Config:
    queued: int
    """Tasks of the burst: they wait in the queue behind the full channel."""
    concurrency: int = 50
    task_seconds: float = 5.0
    """With ``concurrency``, the channel's capacity: concurrency / task_seconds tasks a second."""
    drain_timeout: float = 120.0

    @property
    def capacity(self) -> float:
        return self.concurrency / self.task_seconds


FULL = Config(queued=300)
QUICK = Config(queued=100, drain_timeout=60.0)


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    channel_cap: bool
    """The channel's ``max_concurrency`` is the limit (the simulator has room to spare); else
    the channel has no cap and the simulator answers 1303 when its slots are used up."""
    workers: int = 1


VARIANTS = (
    Variant("max_concurrency", "the channel's `max_concurrency` is the limit", True),
    Variant("upstream 1303", "no cap on the channel; the upstream answers 1303 when full",
            False),
    Variant("max_concurrency, 2 workers", "as the first, with two worker processes", True, 2),
)


@dataclass
class DrainResult:
    variant: Variant
    tasks: int
    submit_seconds: float = math.nan
    """How long the burst took to submit."""
    sent: int = 0
    """Distinct tasks the simulator holds (each gateway task once)."""
    upstream_jobs: int = 0
    """Jobs the simulator holds (more than ``sent``: a task was sent twice)."""
    final: int = 0
    drain_rate: float = math.nan
    """Tasks sent after the first upstream finish, per second from that finish to the last
    send."""
    reuse_ms: list[float] = field(default_factory=list)
    """Per freed slot: from the k-th upstream finish to the k-th send after the first fill."""
    most_running: int = 0
    """The most upstream tasks running at once."""
    out_of_order: int = 0
    """Tasks sent after the first upstream finish before a task created earlier."""
    note: str = ""


def run(quick: bool, results: dict[str, Any]) -> None:
    config = QUICK if quick else FULL
    drains = results.setdefault(KEY, [])
    for variant in VARIANTS:
        say(f"queue drain, {variant.name}: {config.queued} tasks behind {config.concurrency} "
            f"running, capacity {config.capacity:g}/s")
        result = run_variant(config, variant)
        drains.append(result)
        say(f"queue drain, {variant.name}: {result.drain_rate:.1f} tasks/s "
            f"({result.drain_rate / config.capacity:.0%} of capacity) {result.note}")


def run_variant(config: Config, variant: Variant) -> DrainResult:
    tasks = config.concurrency + config.queued
    result = DrainResult(variant, tasks)
    slug = variant.name.replace(" ", "-").replace(",", "")
    with ExitStack() as stack:
        sim_port = free_port()
        sim_url = f"http://{HOST}:{sim_port}"
        upstream_slots = 10 * tasks if variant.channel_cap else config.concurrency
        stack.enter_context(process(
            f"drain-{slug}-simulator",
            simulator_args(sim_port, config.task_seconds, upstream_slots), env={},
            ready_url=f"{sim_url}/v1/openapi.json"))
        database_url = stack.enter_context(postgres_schema())
        deployment = prepare_database(database_url, sim_url)
        if variant.channel_cap:
            set_channel_cap(database_url, config.concurrency)
        port = free_port()
        gateway_url = f"http://{HOST}:{port}"
        env = gateway_env(database_url)
        stack.enter_context(process(
            f"drain-{slug}-gateway",
            ["serve", "--no-worker", "--host", HOST, "--port", str(port)], env=env,
            ready_url=f"{gateway_url}/v1/openapi.json"))
        for index in range(variant.workers):
            stack.enter_context(process(f"drain-{slug}-worker{index + 1}", ["worker"], env=env,
                                        ready_log=r"worker \S+ started"))
        gateway = KlingHttp(f"{gateway_url}/kling", api_key=deployment.token.api_key)
        # The channel fills at its capacity, as a channel busy for a while is: its slots then
        # free one every task_seconds / concurrency. The burst comes right after.
        spread(config.concurrency, config.task_seconds,
               lambda i: gateway.create({"prompt": f"fill {i}"}), threads=2)
        started = time.monotonic()
        with ThreadPoolExecutor(SUBMIT_THREADS, thread_name_prefix="submit") as pool:
            list(pool.map(lambda i: gateway.create({"prompt": f"burst {i}"}),
                          range(config.queued)))
        result.submit_seconds = time.monotonic() - started
        connection = psycopg2.connect(database_url)
        stack.callback(connection.close)
        connection.autocommit = True
        deadline = time.monotonic() + config.drain_timeout
        while time.monotonic() < deadline:
            (result.final,) = one_row(connection, "SELECT count(*) FROM tasks WHERE status "
                                      "IN ('succeed', 'failed')")
            if result.final == tasks:
                break
            time.sleep(0.5)
        rows = one_row_all(connection, "SELECT id, created_at, updated_at, status, poll_count "
                           "FROM tasks")
        jobs = upstream_jobs(sim_url, tasks)
        (LOGS / f"drain-{slug}.json").write_text(json.dumps({"jobs": jobs, "tasks": rows}))
        measure(config, result, jobs, {row[0]: row[1] for row in rows})
    if result.final < tasks:
        result.note = f"only {result.final} of {tasks} final within {config.drain_timeout:.0f} s"
    return result


def set_channel_cap(database_url: str, cap: int) -> None:
    connection = psycopg2.connect(database_url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("UPDATE channels SET max_concurrency = %s", (cap,))
    finally:
        connection.close()


def one_row_all(connection: Any, sql: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def upstream_jobs(sim_url: str, count: int) -> list[dict[str, Any]]:
    """Every task the simulator holds, from its list, 500 a page."""
    token = kling_jwt.sign(SIM_AK, SIM_SK, now=time.time())
    jobs: list[dict[str, Any]] = []
    with requests.Session() as session:
        for page in range(1, count // 500 + 3):
            answer = session.get(f"{sim_url}{T2V}", params={"pageNum": page, "pageSize": 500},
                                 headers={"Authorization": f"Bearer {token}"}, timeout=60)
            rows = answer.json()["data"]
            jobs += rows
            if len(rows) < 500:
                break
    return jobs


def measure(config: Config, result: DrainResult, jobs: list[dict[str, Any]],
            created: dict[str, int]) -> None:
    """Every figure from the simulator's own times: when it created each task (the gateway
    sent it) and when it finished it (a slot freed)."""
    result.upstream_jobs = len(jobs)
    sent = sorted(jobs, key=lambda job: (job["created_at"], job["task_id"]))
    result.sent = len({job["task_info"].get("external_task_id") for job in sent})
    finishes = sorted(job["updated_at"] for job in jobs
                      if job["task_status"] in ("succeed", "failed"))
    if not finishes:
        return
    # Every send after the first finish took a freed slot, the k-th of them the k-th slot
    # freed (slots are interchangeable).
    later = [job["created_at"] for job in sent if job["created_at"] >= finishes[0]]
    result.reuse_ms = [float(send - freed) for send, freed in zip(later, finishes, strict=False)]
    span = (later[-1] - finishes[0]) / 1000 if later else 0
    result.drain_rate = len(later) / span if span > 0 else math.nan
    result.most_running = most_at_once(jobs)
    result.out_of_order = overtakes([created.get(job["task_info"].get("external_task_id"), 0)
                                     for job in sent if job["created_at"] >= finishes[0]])


def overtakes(created: list[int]) -> int:
    """Tasks that jumped the line: sent before a task created earlier at the gateway
    (``created``: the gateway creation times in the order the tasks were sent)."""
    count, oldest_later = 0, math.inf
    for when in reversed(created):
        count += when > oldest_later
        oldest_later = min(oldest_later, when)
    return count


def most_at_once(jobs: list[dict[str, Any]]) -> int:
    """The most tasks running upstream at the same moment (a finish frees its slot before a
    create at the same millisecond takes one)."""
    events = sorted([(job["created_at"], 1) for job in jobs]
                    + [(job["updated_at"], -1) for job in jobs
                       if job["task_status"] in ("succeed", "failed")])
    running = most = 0
    for _, change in events:
        running += change
        most = max(most, running)
    return most


def section(quick: bool, results: dict[str, Any]) -> list[str]:
    config = QUICK if quick else FULL
    drains: list[DrainResult] = results[KEY]
    target = TARGET_SHARE * config.capacity
    lines = [
        "## Queue drain rate (issue 14)",
        "",
        f"**Target:** a burst queued behind a full channel drains at ≥ {TARGET_SHARE:.0%} of "
        f"the channel's capacity ({config.concurrency} slots / {config.task_seconds:g} s "
        f"tasks = {config.capacity:g} tasks/s, so ≥ {target:g}/s): a freed slot is used at "
        "once. Never more tasks running upstream than the slots, each task sent once, oldest "
        "first.",
        "",
        "How: processes on 127.0.0.1: the simulator (its tasks take "
        f"{config.task_seconds:g} s), the gateway (`kling-gateway serve --no-worker`), the "
        "worker(s) (`kling-gateway worker`, default policy; no public URL, so the gateway "
        "learns of a finish by reading Kling), PostgreSQL. First "
        f"{config.concurrency} text2video tasks fill the channel at its capacity, one every "
        f"{config.task_seconds / config.concurrency * 1000:.0f} ms, as a channel that has "
        "been busy for a while is, so its slots then free at that pace; right after, "
        f"{config.queued} more are submitted at once ({SUBMIT_THREADS} client threads) and "
        "queue behind it. Every time is the simulator's own: when it created a task (the "
        "gateway sent it) and when it finished one (a slot freed). *Drain rate* = the tasks "
        "sent after the first upstream finish, per second from that finish to the last send "
        f"(refilling each slot the moment it frees gives {config.capacity:g}/s). *Slot reuse* "
        "= from the k-th upstream finish to the k-th send after the first finish (ms; "
        "negative when a submit arriving just then took the slot). *Sent out of order* = "
        "tasks sent after the first finish before a task created earlier at the gateway (in "
        "the 1303 variant a burst task may go ahead of queued ones while the account first "
        "fills up: until its first 1303 the gateway does not know the account's limit, and "
        "the upstream takes a create whenever one of its slots has just freed).",
        "",
        "| variant | tasks | sent once | final | drain rate /s | of capacity | slot reuse p50 "
        "ms | p90 ms | max ms | most running (cap) | sent out of order | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in drains:
        once = "yes" if r.sent == r.upstream_jobs else \
            f"**{r.upstream_jobs} jobs for {r.sent} tasks**"
        met = "met" if r.drain_rate >= target else "**missed**"
        lines.append(
            f"| {r.variant.name}: {r.variant.description} | {r.tasks} | {once} | {r.final} | "
            f"{r.drain_rate:.1f} | {r.drain_rate / config.capacity:.0%} ({met}) | "
            f"{percentile(r.reuse_ms, 0.5):,.0f} | {percentile(r.reuse_ms, 0.9):,.0f} | "
            f"{max(r.reuse_ms, default=math.nan):,.0f} | {r.most_running} "
            f"({config.concurrency}) | {r.out_of_order} | {r.note} |")
    return [*lines, ""]
