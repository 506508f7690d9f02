"""Figure: memory of each gateway worker under a long realistic load (issue 6, figure 5).

``kling-gateway serve --workers 2`` (background worker on, the simulator as the channel) gets
a mix of requests in chunks; after each chunk the RSS of every process of the server is read
from ``/proc/<pid>/status`` (``VmRSS``). The workers are the server's child processes; the
parent, which also runs the background worker, is reported apart.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from get_by_id import (
    LoadGenerator,
    Request,
    Setup,
    api_key_headers,
    gateway,
    insert_succeeded,
)
from harness import (
    HOST,
    LOGS,
    T2V,
    free_port,
    postgres_schema,
    prepare_database,
    process,
    process_tree,
    say,
    simulator_args,
)

KEY = "memory"
TARGET_MB = 150.0
GROWTH_LIMIT_MB = 1.0
"""Per 10 k requests, over the second half of the run: more than this is 'growing'."""
SETUP = Setup("uvicorn", 2)
MIX = (("get", 70), ("list", 15), ("create", 5), ("not found", 4), ("bad request", 3),
       ("unauthorized", 3))
"""Shares in percent; 'create' goes to the simulator channel, whose tasks finish in 1 s."""
REFUSED = sum(share for kind, share in MIX if kind in ("not found", "bad request", "unauthorized"))


@dataclass(frozen=True)
class Config:
    total: int
    chunk: int


FULL = Config(total=100_000, chunk=10_000)
QUICK = Config(total=5_000, chunk=1_000)


@dataclass
class Sample:
    requests: int
    worker_mb: list[float]
    parent_mb: float
    rate: float
    errors: int


@dataclass
class Result:
    samples: list[Sample] = field(default_factory=list)
    mix: dict[str, int] = field(default_factory=dict)


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def server_workers(root: int) -> list[int]:
    """The processes under ``root`` that serve requests: not multiprocessing's helper
    (the resource tracker, which ``spawn`` starts next to uvicorn's workers)."""
    return [pid for pid in process_tree(root) if pid != root
            and b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()]


def requests_for(ids: list[str], headers: dict[str, str]):  # noqa: ANN201 - a closure
    kinds = [kind for kind, share in MIX for _ in range(share)]
    json_headers = {**headers, "Content-Type": "application/json"}

    def make(index: int, rng: random.Random) -> Request:
        kind = kinds[index % len(kinds)]
        if kind == "get":
            return "GET", f"{T2V}/{rng.choice(ids)}", headers, b""
        if kind == "list":
            return "GET", f"{T2V}?pageNum={rng.randint(1, 20)}&pageSize=30", headers, b""
        if kind == "create":
            body = {"prompt": f"memory {index}", "model_name": "kling-v1"}
            return "POST", T2V, json_headers, json.dumps(body).encode()
        if kind == "not found":
            return "GET", f"{T2V}/no-such-task-{index}", headers, b""
        if kind == "bad request":
            return "POST", T2V, json_headers, b'{"prompt": 5}'
        return "GET", f"{T2V}/{ids[0]}", {"Authorization": "Bearer kg-wrong"}, b""

    return make


def run(quick: bool, results: dict[str, Any]) -> None:
    config = QUICK if quick else FULL
    result = Result(mix=dict(MIX))
    results[KEY] = result
    sim_port = free_port()
    with postgres_schema() as database_url, process(
            "memory-simulator", simulator_args(sim_port, 1.0, 10_000), env={},
            ready_url=f"http://{HOST}:{sim_port}/healthz"):
        deployment = prepare_database(database_url, f"http://{HOST}:{sim_port}")
        ids = insert_succeeded(deployment, 2_000)
        with gateway(SETUP, database_url, sync=True) as (port, pid):
            workers = server_workers(pid)
            generator = LoadGenerator(port, requests_for(ids, api_key_headers(deployment)),
                                      connections=16)
            done = 0
            result.samples.append(Sample(0, [rss_mb(w) for w in workers], rss_mb(pid),
                                         math.nan, 0))
            while done < config.total:
                load = generator.run(count=config.chunk, first=done)
                done += config.chunk
                sample = Sample(done, [rss_mb(w) for w in workers], rss_mb(pid), load.rate,
                                load.errors)
                result.samples.append(sample)
                say(f"memory: {done:,} requests, workers "
                    f"{', '.join(f'{mb:.0f}' for mb in sample.worker_mb)} MB, parent "
                    f"{sample.parent_mb:.0f} MB, {load.rate:,.0f} req/s")
    (LOGS / "memory.json").write_text(json.dumps(asdict(result), indent=2), encoding="utf-8")


def slope_per_10k(samples: list[Sample], worker: int) -> float:
    """Least-squares slope of one worker's RSS over the second half of the run, MB per 10 k
    requests (the first half includes warming up: imports, caches, pools filling)."""
    half = [s for s in samples if s.requests >= samples[-1].requests / 2]
    xs = [s.requests / 10_000 for s in half]
    ys = [s.worker_mb[worker] for s in half]
    if len(xs) < 2:
        return math.nan
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def section(quick: bool, results: dict[str, Any]) -> list[str]:
    config = QUICK if quick else FULL
    result: Result = results[KEY]
    samples = result.samples
    first, last = samples[1] if len(samples) > 1 else samples[0], samples[-1]
    mix = ", ".join(f"{kind} {share} %" for kind, share in result.mix.items())
    lines = [
        "## Memory per worker under load (issue 6, figure 5)",
        "",
        f"Target: the RSS of each worker ≤ {TARGET_MB:.0f} MB after 100 k requests, and not "
        "growing.",
        "",
        f"`kling-gateway serve --workers {SETUP.workers}` (uvicorn, background worker on, the "
        "simulator as the channel, PostgreSQL) gets "
        f"{config.total:,} requests in chunks of {config.chunk:,} from 16 keep-alive "
        f"connections, mixed as {mix}. After each chunk the RSS (`VmRSS`) of every server "
        "process is read. *Growing* means a least-squares slope above "
        f"{GROWTH_LIMIT_MB:g} MB per 10 k requests over the second half of the run.",
        "",
        "| requests | " + " | ".join(f"worker {i + 1} MB" for i in range(len(last.worker_mb)))
        + " | parent MB | req/s | non-2xx |",
        "|---|" + "---|" * (len(last.worker_mb) + 3),
    ]
    for s in samples:
        lines.append(f"| {s.requests:,} | " + " | ".join(f"{mb:.1f}" for mb in s.worker_mb)
                     + f" | {s.parent_mb:.1f} | "
                     + ("—" if math.isnan(s.rate) else f"{s.rate:,.0f}") + f" | {s.errors:,} |")
    verdicts = []
    for index, mb in enumerate(last.worker_mb):
        slope = slope_per_10k(samples, index)
        growing = not slope <= GROWTH_LIMIT_MB
        verdicts.append(
            f"- worker {index + 1}: {first.worker_mb[index]:.1f} MB after {first.requests:,} "
            f"requests, {mb:.1f} MB after {last.requests:,}; slope {slope:+.2f} MB per 10 k "
            f"requests: {'met' if mb <= TARGET_MB and not growing else 'not met'}"
            f" ({'≤' if mb <= TARGET_MB else '>'} {TARGET_MB:.0f} MB, "
            f"{'growing' if growing else 'not growing'}).")
    lines += ["", *verdicts,
              f"- The non-2xx column counts the deliberate 4xx of the mix (about {REFUSED} %) "
              "plus any failure.", ""]
    if config.total < FULL.total:
        lines += [f"Quick mode: {config.total:,} requests, not the target's 100 k; the slope "
                  "over so few requests mostly shows warm-up.", ""]
    return lines
