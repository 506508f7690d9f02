"""``kling-gateway serve --demo``: a gateway that works alone.

The demo adds what a first run lacks: a SQLite file in the working directory, the Kling
simulator in a background thread as the upstream channel, a user with money, a fresh token and
an admin token, and prints everything needed to call it with curl.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

from kling_gateway import logs
from kling_gateway.app import create_app
from kling_gateway.cli.serve import background_worker, run_server, serve_in_thread
from kling_gateway.config import Settings
from kling_gateway.domain import families
from kling_gateway.domain.errors import ResourceNotFound
from kling_gateway.domain.money import format_cny, parse_cny
from kling_gateway.services import accounts, channels
from kling_gateway.services.accounts import IssuedToken
from kling_gateway.simulator.app import create_simulator_app
from kling_gateway.simulator.settings import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_SECRET_KEY,
    SimulatorSettings,
)
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.channel_book import StoredChannelBook
from kling_gateway.storage.db import close_database
from kling_gateway.upstream.channels import Upstreams

DEMO_DATABASE_URL = "sqlite:///kling-gateway-demo.sqlite3"
DEMO_USER = "demo"
DEMO_BALANCE = parse_cny("1000")
DEMO_CHANNEL = "simulator"
DEMO_TASK_SECONDS = 10.0
DEMO_PROMPT = "a red panda drinking tea"
DEMO_FAMILY = families.named("text2video")
"""The family of the example task the banner shows."""


def serve_demo(host: str, port: int, environ: Mapping[str, str] = os.environ, *,
               log_format: str = "json") -> int:
    """Serve a self-contained demo: simulator upstream, demo user, fresh keys, curl lines."""
    logs.configure(log_format)
    settings = demo_settings(environ)
    upstreams = Upstreams.from_settings(settings, StoredChannelBook())
    app = create_app(settings, upstreams=upstreams)
    sim_settings = SimulatorSettings(task_seconds=DEMO_TASK_SECONDS)
    sim_app, simulator = create_simulator_app(sim_settings)
    try:
        with serve_in_thread(sim_app) as simulator_url:
            channel_note = use_simulator_channel(simulator_url)
            user_note = ensure_demo_user()
            external_id = unused_external_id()
            issued = accounts.create_token(DEMO_USER, f"demo {time.strftime('%Y-%m-%d %H:%M:%S')}")
            admin_note = ("from KLING_GATEWAY_ADMIN_TOKEN" if environ.get(
                "KLING_GATEWAY_ADMIN_TOKEN") else settings.admin_token)
            print(demo_banner(DemoFacts(
                host=host, port=port, database_url=settings.database_url, issued=issued,
                simulator_url=simulator_url, channel_note=channel_note, user_note=user_note,
                admin_note=admin_note or "", external_id=external_id)), flush=True)
            with background_worker(settings, upstreams, enabled=True):
                run_server(app, host, port)
    finally:
        simulator.close()
    close_database()
    return 0


def demo_settings(environ: Mapping[str, str]) -> Settings:
    """The environment's settings over the demo's defaults: its own SQLite file and a random
    admin token."""
    defaults = {"KLING_GATEWAY_DATABASE_URL": DEMO_DATABASE_URL,
                "KLING_GATEWAY_ADMIN_TOKEN": "kga-" + secrets.token_urlsafe(18)}
    return Settings.from_env({**defaults, **environ})


def use_simulator_channel(simulator_url: str) -> str:
    """Point the demo's channel at this run's simulator; add it only if no channel is enabled."""
    keys = {"base_url": simulator_url, "access_key": DEFAULT_ACCESS_KEY,
            "secret_key": DEFAULT_SECRET_KEY}
    existing = {channel.name: channel for channel in channels.list_channels()}
    enabled = [name for name, channel in existing.items() if channel.enabled]
    if DEMO_CHANNEL in existing:
        # The simulator listens on a new port every run: the stored URL is stale.
        channels.update_channel(DEMO_CHANNEL, **keys, enabled=existing[DEMO_CHANNEL].enabled
                                or not enabled)
        return f"channel '{DEMO_CHANNEL}' updated"
    if enabled:
        return f"simulator not added: the database has enabled channels ({', '.join(enabled)})"
    channels.add_channel(DEMO_CHANNEL, **keys)
    return f"channel '{DEMO_CHANNEL}' added"


def ensure_demo_user() -> str:
    """Create the demo user with 1000 CNY, or top an existing one back up to 1000 CNY."""
    try:
        user = accounts.find_user(DEMO_USER)
    except ResourceNotFound:
        accounts.create_user(DEMO_USER, balance=DEMO_BALANCE)
        return f"user '{DEMO_USER}' created with {format_cny(DEMO_BALANCE)} CNY"
    if user.balance < DEMO_BALANCE:
        accounts.top_up(DEMO_USER, DEMO_BALANCE - user.balance, note="demo top-up")
        return f"user '{DEMO_USER}' topped up to {format_cny(DEMO_BALANCE)} CNY"
    return f"user '{DEMO_USER}' reused, balance {format_cny(user.balance)} CNY"


def unused_external_id() -> str:
    """``demo-1``, or on a database reused from an earlier demo the first ``demo-N`` free, so
    that the printed curl works again (external ids are unique per user)."""
    user_id = accounts.find_user(DEMO_USER).id
    number = 1
    while task_store.find_own(user_id, DEMO_FAMILY.name, f"demo-{number}") is not None:
        number += 1
    return f"demo-{number}"


@dataclass(frozen=True)
class DemoFacts:
    host: str
    port: int
    database_url: str
    issued: IssuedToken
    simulator_url: str
    channel_note: str
    user_note: str
    admin_note: str
    external_id: str


def demo_banner(facts: DemoFacts) -> str:
    root = f"http://{facts.host}:{facts.port}"
    base = f"{root}/kling"
    bearer = f"-H 'Authorization: Bearer {facts.issued.api_key}'"
    body = json.dumps({"prompt": DEMO_PROMPT, "external_task_id": facts.external_id},
                      separators=(",", ":"))
    return "\n".join((
        f"kling-gateway demo: base URL {base}",
        f"  Swagger UI    {base}/v1/ui/",
        f"  admin API     {root}/admin/v1  (Swagger UI {root}/admin/v1/ui/)",
        f"  database      {facts.database_url}",
        f"  upstream      Kling simulator on {facts.simulator_url}, tasks take "
        f"{DEMO_TASK_SECONDS:g} s ({facts.channel_note})",
        f"  user          {facts.user_note}",
        f"  API key       {facts.issued.api_key}",
        f"  access key    {facts.issued.access_key}",
        f"  secret key    {facts.issued.secret_key}",
        f"  admin token   {facts.admin_note}",
        "",
        f"Create a {DEMO_FAMILY.name} task (the API key is a bearer token; a JWT signed with the "
        "access and secret key works too):",
        f"  curl -s -X POST {base}{DEMO_FAMILY.path} {bearer} "
        f"-H 'Content-Type: application/json' -d '{body}'",
        "Query it by its external_task_id:",
        f"  curl -s {base}{DEMO_FAMILY.path}/{facts.external_id} {bearer}",
        "",
    ))
