"""Figure: callback latency (issue 5): how late the client's ``succeed`` callback comes after
the simulator finished the task, directly, through the gateway polling, and with upstream
callbacks."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
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
    CallbackReceiver,
    Deployment,
    KlingHttp,
    callback_receiver,
    free_port,
    gateway_env,
    ms,
    one_row,
    percentile,
    postgres_schema,
    prepare_database,
    process,
    say,
    simulator_args,
    spread,
    summary,
    timed,
)

from kling_gateway.services.submit import FIRST_POLL_MS
from kling_gateway.worker.loop import IDLE_SECONDS
from kling_gateway.worker.policy import DEFAULT_POLICY

KEY = "callback_latency"


@dataclass(frozen=True)
class Config:
    quick: bool
    latency_tasks: int
    """Tasks per callback-latency variant."""
    submit_seconds: float
    """They are submitted evenly over this long."""
    task_seconds: float


FULL = Config(quick=False, latency_tasks=200, submit_seconds=10.0, task_seconds=5.0)
QUICK = Config(quick=True, latency_tasks=40, submit_seconds=4.0, task_seconds=5.0)
ENDPOINT_SAMPLES = 50


def run(quick: bool, results: dict[str, Any]) -> None:
    run_latency(QUICK if quick else FULL, results)


def section(quick: bool, results: dict[str, Any]) -> list[str]:
    simulator = " ".join(results["latency_simulator_args"]).replace(SIM_SK, "…")
    lines = latency_section(QUICK if quick else FULL, results[KEY])
    return [*lines[:2], "Processes, all on 127.0.0.1: the simulator "
            f"(`kling-gateway {simulator}`), the gateway (`kling-gateway serve --no-worker`), "
            "one worker (`kling-gateway worker`), PostgreSQL, and the benchmark script (client "
            "and callback receiver).", "", *lines[2:]]


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
        variants = results.setdefault(KEY, [])
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



def latency_section(config: Config, variants: list[LatencyResult]) -> list[str]:
    lines = [
        "## Callback latency (issue 5)",
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
