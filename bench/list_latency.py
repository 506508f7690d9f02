"""Figure: list latency at scale on PostgreSQL (issue 6): ``GET /v1/videos/text2video`` first
page and page 100 as the ``tasks`` table grows from 10 k to 1 M rows, through a real gateway."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import requests
from harness import (
    HOST,
    T2V,
    Deployment,
    free_port,
    gateway_env,
    ms,
    one_row,
    postgres_schema,
    prepare_database,
    process,
    say,
    summary,
    timed,
)

from kling_gateway.domain import families
from kling_gateway.services import tasks as task_service
from kling_gateway.services.auth import Caller
from kling_gateway.services.views import task_view
from kling_gateway.storage.db import database, open_database
from kling_gateway.storage.tasks import page_own

KEY = "list_latency"
TEXT2VIDEO = families.named("text2video")


@dataclass(frozen=True)
class Config:
    quick: bool
    sizes: tuple[int, ...]
    """The ``tasks`` table is grown to each size in turn, and measured there."""
    samples: int
    """Sequential HTTP requests, and as many direct SQL runs, per (size, page)."""
    deep_samples: int
    """Requests of the side measurement (page 1000 x 500) at the largest size."""


FULL = Config(quick=False, sizes=(10_000, 100_000, 1_000_000), samples=200, deep_samples=5)
QUICK = Config(quick=True, sizes=(10_000, 100_000), samples=100, deep_samples=3)
PAGES = ((1, 30), (100, 30))
DEEP_PAGE = (1000, 500)
"""The largest page the API allows (pageNum max 1000, pageSize max 500): OFFSET 499,500."""
FRESH_WRITES = 5_000
"""Side measurement: the newest tasks of the table just changed (as when they finish), so
their heap pages are not all-visible until (auto)vacuum passes: what an index-only scan over
them costs then."""
WARM_UP = 5
TARGET_P50_MS = 10.0
FLAT_TOLERANCE = 0.25
"""'Flat' is read as: the p50 at the largest size is within 25 % (or 1 ms) of the 10 k p50."""

# ---- the data -------------------------------------------------------------------------------

LISTING_SHARE = 700
"""Per mille of all rows owned by the listing user (the gateway token's user): one heavy tenant,
so that its text2video list walks a large per-user set (about half the table)."""
OTHER_USERS = 9
"""The remaining rows are spread evenly over this many other users."""
FAMILY_MIX = (("text2video", 750), ("image2video", 150), ("image-generation", 60),
              ("multi-image2video", 20), ("multi-image2image", 10), ("multi-elements", 10))
"""Per mille of rows per family."""
STATUS_MIX = (("succeed", 900), ("failed", 70), ("processing", 20), ("submitted", 10))
STEP_MS = 31_536
"""Rows are created one every ~31.5 s on average (in insertion order, so the heap is in time
order as in a real table): 1 M rows span a year, ending now."""
PROMPTS = (
    "A golden retriever running along a beach at sunset, cinematic lighting, slow motion, "
    "shallow depth of field",
    "Aerial shot of a misty mountain valley at dawn, the camera slowly pushing forward over "
    "pine forests",
    "A cup of coffee on a wooden table, steam rising, soft morning light through a window",
    "Neon-lit Tokyo street at night in the rain, people with umbrellas, reflections on the "
    "wet asphalt",
    "An astronaut floating inside a space station, Earth visible through the window, "
    "realistic",
    "Close-up of a hummingbird drinking from a red flower, ultra detailed, 4k",
    "A paper boat drifting down a stream in autumn, leaves falling, gentle camera pan",
    "Time-lapse of clouds over a city skyline, day turning into night",
)

PICK_FUNCTION = """
CREATE FUNCTION pick(n bigint, seed bigint, m bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$ SELECT ((hashint8extended(n, seed) % m) + m) % m $$
"""
"""A deterministic pseudo-random number in [0, m) for row n: the same rows at every size, so
growing the table only appends."""


def mix_case(column: str, mix: Sequence[tuple[str, int]]) -> str:
    """``CASE`` picking a label of ``mix`` from a per-mille draw in ``column``."""
    branches, upto = [], 0
    for label, share in mix:
        upto += share
        branches.append(f"WHEN {column} < {upto} THEN '{label}'")
    return f"CASE {' '.join(branches[:-1])} ELSE '{mix[-1][0]}' END"


FILL_SQL = f"""
INSERT INTO tasks (id, user_id, token_id, channel_id, family, model_name, mode, duration,
                   price_key, amount, upstream_task_id, external_task_id, status, status_msg,
                   request_body, result, callback_url, created_at, updated_at, synced_at,
                   next_poll_at, poll_count)
SELECT r.created_at::text || lpad(pick(r.n, 5, 1000000)::text, 6, '0'),
       r.user_id, CASE WHEN r.user_id = %(listing_user)s THEN %(token)s END, %(channel)s,
       r.family, r.model_name, r.mode, r.duration,
       CASE WHEN r.is_image THEN 'kling-image_' || r.model_name
            ELSE 'kling-video_' || r.model_name || '_' || r.mode || '_' || r.duration END,
       CASE WHEN r.is_image THEN 2500 * r.images
            ELSE 10000 * r.duration::int / 5 * CASE r.mode WHEN 'pro' THEN 35 ELSE 20 END / 10
       END,
       r.upstream_task_id, r.external_task_id, r.status,
       CASE r.status WHEN 'failed' THEN 'Failure to pass the risk control system' ELSE '' END,
       jsonb_strip_nulls(jsonb_build_object(
           'model_name', r.model_name, 'prompt', r.prompt,
           'negative_prompt', CASE WHEN NOT r.is_image THEN 'blurry, low quality' END,
           'cfg_scale', CASE WHEN r.family = 'text2video' THEN 0.5 END,
           'mode', r.mode, 'duration', r.duration,
           'aspect_ratio', CASE WHEN r.family NOT LIKE 'image2video' THEN '16:9' END,
           'image', CASE WHEN r.family LIKE '%%image2%%'
                         THEN 'https://cdn.client.example/uploads/' || r.n || '.png' END,
           'n', CASE WHEN r.is_image THEN r.images END,
           'external_task_id', r.external_task_id, 'callback_url', r.callback_url))::text,
       CASE WHEN r.status <> 'succeed' THEN NULL
            WHEN r.is_image THEN jsonb_build_object('images', (
                SELECT jsonb_agg(jsonb_build_object(
                    'index', i, 'url', 'https://files.example/images/'
                                       || r.upstream_task_id || '-' || i || '.png'))
                FROM generate_series(0, r.images - 1) AS i))::text
            ELSE jsonb_build_object('videos', jsonb_build_array(jsonb_build_object(
                'id', md5(r.n::text)::uuid,
                'url', 'https://files.example/videos/' || r.upstream_task_id || '.mp4',
                'duration', r.duration)))::text END,
       r.callback_url, r.created_at, r.updated_at, r.updated_at,
       CASE WHEN r.status IN ('processing', 'submitted') THEN r.updated_at + 30000 END,
       CASE WHEN r.status IN ('processing', 'submitted') THEN 6 ELSE 9 END
FROM (
    SELECT h.*, h.family LIKE 'image-generation' OR h.family LIKE 'multi-image2image'
               AS is_image,
           CASE WHEN h.family IN ('image-generation', 'multi-image2image') THEN 'kling-v1'
                ELSE (ARRAY['kling-v1', 'kling-v1-6', 'kling-v2-master'])[1 + pick(h.n, 10, 3)]
           END AS model_name,
           CASE WHEN h.family IN ('image-generation', 'multi-image2image') THEN NULL
                WHEN pick(h.n, 11, 4) = 0 THEN 'pro' ELSE 'std' END AS mode,
           CASE WHEN h.family IN ('image-generation', 'multi-image2image') THEN NULL
                WHEN pick(h.n, 12, 5) = 0 THEN '10' ELSE '5' END AS duration,
           1 + pick(h.n, 13, 4)::int AS images,
           (%(prompts)s::text[])[1 + pick(h.n, 6, %(prompt_count)s)] AS prompt,
           (100000000000000000 + pick(h.n, 7, 899999999999999999))::text AS upstream_task_id,
           CASE WHEN pick(h.n, 8, 10) < 2 THEN 'order-' || h.n END AS external_task_id,
           CASE WHEN pick(h.n, 9, 10) < 5 THEN 'https://client.example/kling/callback' END
               AS callback_url,
           h.created_at + CASE WHEN h.status IN ('processing', 'submitted') THEN 10000
                               ELSE 60000 + pick(h.n, 14, 240000) END AS updated_at
    FROM (
        SELECT n, %(t0)s + n * {STEP_MS} + pick(n, 1, {STEP_MS}) AS created_at,
               CASE WHEN pick(n, 2, 1000) < {LISTING_SHARE} THEN %(listing_user)s
                    ELSE (%(other_users)s::int[])[1 + pick(n, 15, {OTHER_USERS})] END AS user_id,
               {mix_case("pick(n, 3, 1000)", FAMILY_MIX)} AS family,
               {mix_case("pick(n, 4, 1000)", STATUS_MIX)} AS status
        FROM generate_series(%(first)s::bigint, %(stop)s::bigint - 1) AS n
        OFFSET 0
    ) AS h
    OFFSET 0
) AS r
"""
"""(``OFFSET 0`` keeps each level a subquery of its own, so that every draw is computed once.)"""
HORIZON_WAIT_SECONDS = 60.0
FILL_CHUNK = 250_000
"""Rows per INSERT statement (each its own transaction), for progress output."""

PLAIN_OFFSET_SQL = ("SELECT * FROM tasks WHERE user_id = %s AND family = %s "
                    "ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s")
"""The list query as it was before issue 6 (plain OFFSET over full rows): measured directly,
next to the gateway's own statements, so the report shows what the change is worth."""

# ---- results --------------------------------------------------------------------------------


@dataclass
class PageResult:
    page_num: int
    page_size: int
    rows: int = 0
    http: dict[str, float] = field(default_factory=dict)
    sql: dict[str, float] = field(default_factory=dict)
    """The gateway's own statement(s), captured from ``page_own``, run directly, fetched."""
    plain_sql: dict[str, float] = field(default_factory=dict)
    explain_ms: float = math.nan
    """Execution time EXPLAIN ANALYZE reports for the gateway's statement(s)."""
    plan: str = ""
    plain_plan: str = ""


@dataclass
class SizeResult:
    tasks: int
    listing_set: int = 0
    """The listing user's text2video tasks: what the list walks."""
    fill_seconds: float = math.nan
    vacuum_seconds: float = math.nan
    horizon_wait_seconds: float = math.nan
    all_visible: float = math.nan
    """Share of the table's pages VACUUM marked all-visible (index-only scans skip those)."""
    table_mb: float = math.nan
    indexes_mb: float = math.nan
    pages: list[PageResult] = field(default_factory=list)


@dataclass
class ListLatency:
    sizes: list[SizeResult] = field(default_factory=list)
    deep: PageResult | None = None
    floors: dict[str, dict[str, float]] = field(default_factory=dict)
    """Reference requests at the first size: where the gateway's fixed cost goes."""
    fresh: list[PageResult] = field(default_factory=list)
    """Pages 1 and 100 at the largest size right after the newest ``FRESH_WRITES`` changed."""
    view_statements: int = -1
    """SQL statements issued while building the views of one page (after the list query)."""
    list_statements: int = -1


def run(quick: bool, results: dict[str, Any]) -> None:
    config = QUICK if quick else FULL
    result = results.setdefault(KEY, ListLatency())
    with ExitStack() as stack:
        database_url = stack.enter_context(postgres_schema())
        # Nothing listens at the channel's URL: a list that called upstream would fail.
        deployment = prepare_database(database_url, f"http://{HOST}:{free_port()}")
        connection = psycopg2.connect(database_url)
        stack.callback(connection.close)
        connection.autocommit = True
        other_users = create_other_users(connection)
        port = free_port()
        gateway_url = f"http://{HOST}:{port}"
        stack.enter_context(process(
            "list-gateway", ["serve", "--no-worker", "--host", HOST, "--port", str(port)],
            env=gateway_env(database_url), ready_url=f"{gateway_url}/v1/openapi.json"))
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {deployment.token.api_key}"
        filled = 0
        t0 = int(time.time() * 1000) - config.sizes[-1] * STEP_MS  # the newest row is now
        for size in config.sizes:
            level = SizeResult(size)
            fill(connection, deployment, other_users, t0, filled, size, level)
            filled = size
            for page_num, page_size in PAGES:
                level.pages.append(measure_page(connection, session, gateway_url, deployment,
                                                page_num, page_size, config.samples))
            result.sizes.append(level)
            if not result.floors:
                result.floors = measure_floors(session, gateway_url, config.samples)
            say(f"list {size:,} tasks: " + ", ".join(
                f"page {p.page_num} p50 {p.http['p50']:.1f} ms (SQL {p.sql['p50']:.1f} ms, "
                f"plain OFFSET {p.plain_sql['p50']:.1f} ms)" for p in level.pages))
        say(f"list {filled:,} tasks: side measurement, page {DEEP_PAGE[0]} x {DEEP_PAGE[1]}")
        result.deep = measure_page(connection, session, gateway_url, deployment, *DEEP_PAGE,
                                   config.deep_samples, warm_up=1)
        say(f"list page {DEEP_PAGE[0]} x {DEEP_PAGE[1]}: p50 {result.deep.http['p50']:.0f} ms"
            f" (SQL {result.deep.sql['p50']:.0f} ms, plain OFFSET "
            f"{result.deep.plain_sql['p50']:.0f} ms)")
        say(f"list {filled:,} tasks: side measurement, the newest {FRESH_WRITES:,} updated")
        touch_newest(connection, t0, filled)
        result.fresh = [measure_page(connection, session, gateway_url, deployment, page_num,
                                     page_size, config.samples // 2)
                        for page_num, page_size in PAGES]
        result.list_statements, result.view_statements = count_statements(deployment)


# ---- filling --------------------------------------------------------------------------------


def create_other_users(connection: Any) -> list[int]:
    now = int(time.time() * 1000)
    with connection.cursor() as cursor:
        cursor.execute(PICK_FUNCTION)
        cursor.execute("INSERT INTO users (name, balance, disabled, created_at) SELECT "
                       "'tenant-' || i, 0, false, %s FROM generate_series(1, %s) AS i "
                       "RETURNING id", (now, OTHER_USERS))
        return [row[0] for row in cursor.fetchall()]


def fill(connection: Any, deployment: Deployment, other_users: list[int], t0: int,
         first: int, stop: int, level: SizeResult) -> None:
    """Grow ``tasks`` from ``first`` to ``stop`` rows server-side, then VACUUM ANALYZE; row n
    is created at about ``t0 + n * STEP_MS``."""
    params = {"listing_user": deployment.user_id, "token": deployment.token.token.id,
              "channel": deployment.channel_id, "other_users": other_users,
              "prompts": list(PROMPTS), "prompt_count": len(PROMPTS), "t0": t0}
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")  # compiling the fill's big expressions costs more
        for chunk in range(first, stop, FILL_CHUNK):
            cursor.execute(FILL_SQL, {**params, "first": chunk,
                                      "stop": min(chunk + FILL_CHUNK, stop)})
            say(f"list fill: {min(chunk + FILL_CHUNK, stop):,} of {stop:,} rows")
        cursor.execute("RESET jit")
    level.fill_seconds = time.monotonic() - started
    level.horizon_wait_seconds = wait_for_xmin_horizon(connection)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tasks")
    level.vacuum_seconds = time.monotonic() - started
    table, indexes, level.listing_set, all_visible = one_row(
        connection, "SELECT pg_table_size('tasks'), pg_indexes_size('tasks'), "
        "(SELECT count(*) FROM tasks WHERE user_id = %s AND family = 'text2video'), "
        "(SELECT relallvisible::float / greatest(relpages, 1) FROM pg_class "
        " WHERE oid = 'tasks'::regclass)", (deployment.user_id,))
    level.table_mb, level.indexes_mb = table / 2**20, indexes / 2**20
    level.all_visible = all_visible
    say(f"list fill to {stop:,} rows: {level.fill_seconds:.1f} s, VACUUM ANALYZE "
        f"{level.vacuum_seconds:.1f} s; listing user's text2video set {level.listing_set:,}")


def touch_newest(connection: Any, t0: int, size: int) -> None:
    """An update of the newest ``FRESH_WRITES`` rows (``updated_at``; not vacuumed after)."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tasks SET updated_at = updated_at + 1 WHERE created_at >= %s",
                       (t0 + (size - FRESH_WRITES) * STEP_MS,))


def wait_for_xmin_horizon(connection: Any) -> float:
    """Wait (up to ``HORIZON_WAIT_SECONDS``) until no other session's snapshot or running
    transaction is older than the fill: VACUUM can mark a page all-visible, which index-only
    scans rely on, only once every open transaction sees its rows. Other work on this
    machine's PostgreSQL holds transactions open; an idle production database gets there by
    itself."""
    (fill_done,) = one_row(connection, "SELECT pg_current_xact_id()::xid::text::bigint")
    started = time.monotonic()
    while time.monotonic() - started < HORIZON_WAIT_SECONDS:
        (older,) = one_row(connection, "SELECT count(*) FROM pg_stat_activity WHERE pid <> "
                           "pg_backend_pid() AND (backend_xmin::text::bigint <= %(done)s OR "
                           "backend_xid::text::bigint <= %(done)s)", {"done": fill_done})
        if not older:
            break
        time.sleep(0.5)
    return time.monotonic() - started


# ---- measuring ------------------------------------------------------------------------------


class _Captured(logging.Handler):
    """Collects the (sql, params) peewee logs for every statement it runs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[tuple[str, Sequence[Any]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, tuple) and len(record.msg) == 2:
            self.statements.append(record.msg)


@contextmanager
def captured_statements(database_url: str) -> Iterator[_Captured]:
    """The SQL the storage layer runs inside the block (its own connection)."""
    logger = logging.getLogger("peewee")
    handler, level = _Captured(), logger.level
    open_database(database_url)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        database.close()


def gateway_statements(deployment: Deployment, page_num: int,
                       page_size: int) -> list[tuple[str, Sequence[Any]]]:
    with captured_statements(deployment.database_url) as capture:
        page_own(deployment.user_id, TEXT2VIDEO.name, page_num, page_size)
    return capture.statements


def count_statements(deployment: Deployment) -> tuple[int, int]:
    """Statements the list path runs for page 1 (auth excluded): the list itself, then any
    issued while turning the rows into task objects (an N+1 would show here)."""
    caller = Caller(user_id=deployment.user_id, user_name="bench",
                    token_id=deployment.token.token.id, allowed_models=None)
    with captured_statements(deployment.database_url) as capture:
        found = task_service.page(caller, TEXT2VIDEO, *PAGES[0])
        listed = len(capture.statements)
        for task in found:
            task_view(task)
    return listed, len(capture.statements) - listed


def run_statements(connection: Any, statements: Sequence[tuple[str, Sequence[Any]]]) -> int:
    rows = 0
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            rows = len(cursor.fetchall())
    return rows


def explain(connection: Any, statements: Sequence[tuple[str, Sequence[Any]]]) -> tuple[str, float]:
    """The plans (EXPLAIN ANALYZE, BUFFERS) and their summed execution time in ms."""
    plans, total = [], 0.0
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            lines = [row[0] for row in cursor.fetchall()]
            total += float(lines[-1].split(":", 1)[1].split()[0])
            plans.append("\n".join(lines))
    return "\n\n".join(plans), total


FLOORS = (("`GET /healthz` (no authentication, in front of Connexion, no SQL)", "/healthz"),
          ("a 1-task page (`pageNum=2&pageSize=1`)", f"{T2V}?pageNum=2&pageSize=1"))


def measure_floors(session: requests.Session, gateway_url: str,
                   samples: int) -> dict[str, dict[str, float]]:
    def get(path: str) -> None:
        response = session.get(gateway_url + path, timeout=30)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")

    floors = {}
    for name, path in FLOORS:
        for _ in range(WARM_UP):
            get(path)
        floors[name] = summary([timed(lambda path=path: get(path))[1] for _ in range(samples)])
    return floors


def measure_page(connection: Any, session: requests.Session, gateway_url: str,
                 deployment: Deployment, page_num: int, page_size: int, samples: int, *,
                 warm_up: int = WARM_UP) -> PageResult:
    result = PageResult(page_num, page_size)
    url = f"{gateway_url}{T2V}?pageNum={page_num}&pageSize={page_size}"

    def get() -> int:
        response = session.get(url, timeout=120)
        if response.status_code != 200:
            raise RuntimeError(f"list answered {response.status_code}: {response.text[:300]}")
        return len(response.json()["data"])

    for _ in range(warm_up):
        result.rows = get()
    result.http = summary([timed(get)[1] for _ in range(samples)])
    statements = gateway_statements(deployment, page_num, page_size)
    plain = [(PLAIN_OFFSET_SQL, (deployment.user_id, TEXT2VIDEO.name, page_size,
                                 (page_num - 1) * page_size))]
    for _ in range(warm_up):
        run_statements(connection, statements)
        run_statements(connection, plain)
    result.sql = summary([timed(lambda: run_statements(connection, statements))[1]
                          for _ in range(samples)])
    result.plain_sql = summary([timed(lambda: run_statements(connection, plain))[1]
                                for _ in range(samples)])
    runs = sorted((explain(connection, statements) for _ in range(3)), key=lambda run: run[1])
    result.plan, result.explain_ms = runs[1]  # the median of three: one run is noisy here
    result.plain_plan = explain(connection, plain)[0]
    return result


# ---- the report -----------------------------------------------------------------------------


def section(quick: bool, results: dict[str, Any]) -> list[str]:
    config = QUICK if quick else FULL
    result: ListLatency = results[KEY]
    families = ", ".join(f"{name} {share / 10:g} %" for name, share in FAMILY_MIX)
    statuses = ", ".join(f"{name} {share / 10:g} %" for name, share in STATUS_MIX)
    lines = [
        "## List latency at scale on PostgreSQL (issue 6, figure 3)",
        "",
        f"Target: `GET {T2V}` first page and page 100 (pageSize 30) answer with p50 ≤ "
        f"{TARGET_P50_MS:g} ms at 1 M tasks, flat from 10 k to 1 M (read here as: the p50 at "
        f"the largest size within {FLAT_TOLERANCE:.0%} or 1 ms of the 10 k p50).",
        "",
        "A gateway (`kling-gateway serve --no-worker`, its default workers: one process per "
        "core) on a fresh schema; "
        "its only channel points at a port where nothing listens, so a list that called "
        "upstream would fail. The `tasks` table is grown server-side (`INSERT … SELECT FROM "
        "generate_series`, deterministic per row, so growing only appends) to each size, then "
        f"`VACUUM ANALYZE`d. Rows: {LISTING_SHARE / 10:g} % belong to the listing user (the "
        f"token's), the rest evenly to {OTHER_USERS} other users; families {families}; "
        f"statuses {statuses}; succeeded rows carry a simulator-like `result` (video id, url, "
        "duration, or image urls); `request_body` is a real create body (model, prompt, mode, "
        "duration, …, some with `external_task_id` and `callback_url`); one task every "
        f"~{STEP_MS / 1000:.1f} s in insertion order (1 M rows span a year).",
        "",
        f"Each (size, page) is requested {config.samples} times in sequence with the token's "
        f"API key after {WARM_UP} warm-up requests (*HTTP*: client-side wall time, keep-alive). "
        "*SQL*: the statement(s) `page_own` issues for the same page, captured from peewee's "
        "query log and run directly with psycopg2 (execute + fetch all rows) as many times; "
        "*gateway overhead* = HTTP p50 - SQL p50 (authentication's two lookups, the framework, "
        "building and serialising 30 task objects). *plain OFFSET SQL*: the query as it was "
        "before issue 6 (`SELECT * … ORDER BY created_at DESC, id DESC LIMIT … OFFSET …`), "
        "run the same way, for comparison.",
        "",
        "| tasks | listing user's text2video tasks | page | rows | HTTP p50 ms | p90 | p99 | "
        "SQL p50 ms | EXPLAIN ANALYZE ms | gateway overhead p50 ms | plain OFFSET SQL p50 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for level in result.sizes:
        for page in level.pages:
            lines.append(page_row(f"{level.tasks:,}", f"{level.listing_set:,}", page))
    lines += ["", *verdict(config, result), ""]
    if result.floors:
        lines += ["For reference, at the first size, same client: " + "; ".join(
            f"{name} p50 {numbers['p50']:.1f} ms (p90 {numbers['p90']:.1f})"
            for name, numbers in result.floors.items()) + ".", ""]
    lines += fresh_section(result)
    lines += ["Filling (server-side, one statement per "
              f"{FILL_CHUNK:,} rows, then `VACUUM ANALYZE tasks`):", "",
              "| grown to | insert s | waited for older snapshots s | VACUUM ANALYZE s | "
              "pages all-visible after | table MB | indexes MB |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {level.tasks:,} | {level.fill_seconds:.1f} | "
              f"{level.horizon_wait_seconds:.1f} | {level.vacuum_seconds:.1f} | "
              f"{level.all_visible:.0%} | {level.table_mb:,.0f} | {level.indexes_mb:,.0f} |"
              for level in result.sizes]
    lines += ["", "(Before each VACUUM the run waits, up to "
              f"{HORIZON_WAIT_SECONDS:.0f} s, until no other session on this shared PostgreSQL "
              "holds a snapshot older than the fill: otherwise VACUUM cannot mark the new pages "
              "all-visible and the index-only scan must visit the heap.)"]
    if result.sizes:
        largest = result.sizes[-1]
        page_100 = largest.pages[-1]
        lines += ["", f"The gateway's plan for page {page_100.page_num} at "
                  f"{largest.tasks:,} tasks (EXPLAIN ANALYZE, BUFFERS):", "", "```",
                  page_100.plan, "```", "", "The plain OFFSET query's plan, same page:", "",
                  "```", page_100.plain_plan, "```"]
    lines += ["", *deep_section(result), ""]
    lines += [f"Statements on the list path (in-process, authentication excluded): "
              f"{result.list_statements} for the page itself, {result.view_statements} while "
              "turning its rows into task objects (`task_view` reads only the row's columns: "
              "no per-row query). Authentication adds two lookups per request (the token by "
              "its key hash, then its user).", ""]
    return lines


def page_row(tasks: str, listing_set: str, page: PageResult) -> str:
    overhead = page.http["p50"] - page.sql["p50"]
    return (f"| {tasks} | {listing_set} | {page.page_num} x {page.page_size} | {page.rows} | "
            f"{page.http['p50']:.1f} | {page.http['p90']:.1f} | {page.http['p99']:.1f} | "
            f"{page.sql['p50']:.2f} | {page.explain_ms:.2f} | {overhead:.1f} | "
            f"{page.plain_sql['p50']:.2f} |")


def verdict(config: Config, result: ListLatency) -> list[str]:
    if not result.sizes:
        return ["No size was measured."]
    first, last = result.sizes[0], result.sizes[-1]
    lines = []
    for base, top in zip(first.pages, last.pages, strict=True):
        p50, start = top.http["p50"], base.http["p50"]
        flat = p50 <= max(start * (1 + FLAT_TOLERANCE), start + 1.0)
        meets = p50 <= TARGET_P50_MS
        lines.append(f"- page {top.page_num}: p50 {p50:.1f} ms at {last.tasks:,} tasks "
                     f"({'meets' if meets else 'misses'} ≤ {TARGET_P50_MS:g} ms), "
                     f"{start:.1f} ms at {first.tasks:,} ({'flat' if flat else 'not flat'}).")
    missed = [page for page in last.pages if page.http["p50"] > TARGET_P50_MS]
    if missed:
        floor = next(iter(result.floors.values()), {}).get("p50", math.nan)
        request = list(result.floors.values())[-1]["p50"] if result.floors else math.nan
        lines.append(
            f"- Where the time goes when missed: at {last.tasks:,} tasks the list's SQL is "
            + ", ".join(f"{page.sql['p50']:.1f} ms of page {page.page_num}'s "
                        f"{page.http['p50']:.1f} ms" for page in missed)
            + f"; a 1-task page costs {request:.1f} ms and `/healthz` {floor:.1f} ms. The "
            "rest is the gateway's fixed cost per request (authentication, Connexion, the "
            "thread hops to Flask, peewee building the rows), which grows with the machine's "
            "load, not with the table; see the load average above.")
    if config.quick or last.tasks < 1_000_000:
        lines.append(f"- Quick mode stops at {last.tasks:,} tasks: the target is at 1 M, so "
                     "these numbers only show the trend.")
    return lines


def fresh_section(result: ListLatency) -> list[str]:
    if not result.fresh or not result.sizes:
        return []
    numbers = "; ".join(
        f"page {page.page_num}: HTTP p50 {page.http['p50']:.1f} ms, SQL p50 "
        f"{page.sql['p50']:.2f} ms (plain OFFSET {page.plain_sql['p50']:.2f} ms), "
        f"{heap_fetches(page.plan)} heap fetches" for page in result.fresh)
    return [f"Side measurement, at {result.sizes[-1].tasks:,} tasks after an update of the "
            f"newest {FRESH_WRITES:,} tasks and before any vacuum (as when tasks have just "
            "finished: their heap pages are no longer all-visible, so the index-only scan "
            "must visit them), "
            f"{result.fresh[0].http['n']:.0f} requests each: {numbers}.", ""]


def heap_fetches(plan: str) -> str:
    counts = [int(line.split(":")[1]) for line in plan.splitlines()
              if line.strip().startswith("Heap Fetches:")]
    return f"{sum(counts):,}" if counts else "no"


def deep_section(result: ListLatency) -> list[str]:
    deep = result.deep
    if deep is None or not result.sizes:
        return []
    largest = result.sizes[-1]
    offset = (deep.page_num - 1) * deep.page_size
    return [
        f"Side measurement, the largest page the API allows: pageNum {deep.page_num} x "
        f"pageSize {deep.page_size} (OFFSET {offset:,}) at {largest.tasks:,} tasks, "
        f"{deep.http['n']:.0f} requests: {deep.rows} rows returned (the listing user has "
        f"{largest.listing_set:,} text2video tasks); HTTP p50 {ms(deep.http['p50'])} ms "
        f"(max {ms(deep.http['max'])}), SQL p50 {deep.sql['p50']:,.1f} ms, the plain OFFSET "
        f"query {deep.plain_sql['p50']:,.1f} ms. An OFFSET still walks every skipped entry: "
        "this cost grows with the offset and with the table, which is why it is not flat; "
        "only a cursor (keyset) page would be, and the official API pages by number.",
        "",
        "Its plan:", "", "```", deep.plan, "```",
    ]
