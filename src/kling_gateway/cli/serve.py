"""``kling-gateway serve``: the gateway under uvicorn, its worker processes and their supervision.

Normal mode serves ``create_app(Settings.from_env())``. With more than one worker, uvicorn
starts each worker from the import string ``kling_gateway.cli.serve:app_from_env``; the
database is migrated once in the parent first, so the workers find it up to date. ``--demo``
is ``cli.demo``, which serves through the same helpers.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import uvicorn
from connexion import FlaskApp

from kling_gateway import logs, metrics
from kling_gateway.app import create_app
from kling_gateway.config import Settings
from kling_gateway.storage.channel_book import StoredChannelBook
from kling_gateway.storage.db import close_database, database, open_database
from kling_gateway.storage.encryption import configure_keyring
from kling_gateway.storage.migrations import migrate
from kling_gateway.upstream.channels import Upstreams
from kling_gateway.worker.loop import Worker

log = logging.getLogger("kling_gateway.serve")  # the name log lines carried before cli/ existed
APP_FACTORY = "kling_gateway.cli.serve:app_from_env"


PARENT_CHECK_SECONDS = 1.0
"""How often a worker not started by multiprocessing looks whether its parent is still there."""
ORPHAN_GRACE_SECONDS = 5.0
"""How long a worker whose supervisor died lets its requests in flight finish. Nobody would
stop it later, and a create it cuts off is reconciled by the worker like after a crash."""


def app_from_env() -> FlaskApp:
    """What each uvicorn worker serves (an import-string factory, so workers can start it)."""
    logs.configure(os.environ.get(logs.FORMAT_ENV, "json"))  # a fresh interpreter: log as told
    stop_when_parent_exits()
    return create_app(Settings.from_env())


def stop_when_parent_exits(interval: float = PARENT_CHECK_SECONDS,
                           grace: float = ORPHAN_GRACE_SECONDS) -> None:
    """A worker whose supervisor died without stopping it (``kill -9``, a crash) would go on
    serving on the socket it inherited, and a restarted gateway could not bind the port. So a
    worker watches its parent and, once it is gone, stops as on SIGTERM: it closes the socket,
    lets the requests in flight finish and gives leases and connections back; what is still in
    flight after ``grace`` is cut off, since a request the upstream holds would otherwise keep
    it for up to the upstream's read timeout."""
    until_gone = _parent_watch(interval)

    def watch() -> None:
        parent = until_gone()
        log.warning("the supervising process %d is gone: this worker stops", parent)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace)
        log.warning("requests still in flight %g s after the supervisor went: this worker "
                    "exits without them", grace)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _parent_watch(interval: float) -> Callable[[], int]:
    """A wait that answers the parent's pid once the parent is gone. A worker uvicorn started
    holds a pipe to its parent (multiprocessing's sentinel), which tells at once, even if the
    parent died while this worker was still importing the app; any other parent is polled."""
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid is not None:
        pid = parent.pid

        def until_closed() -> int:
            parent.join()
            return pid

        return until_closed
    original = os.getppid()

    def until_adopted() -> int:
        while os.getppid() == original:
            time.sleep(interval)
        return original

    return until_adopted


def serve(host: str, port: int, *, workers: int = 1, sync: bool = True,
          log_format: str = "json") -> int:
    """Serve the gateway configured by the environment until uvicorn is told to stop; unless
    ``sync`` is off, a background worker in this process finishes tasks and sends callbacks."""
    logs.configure(log_format)
    settings = Settings.from_env()
    upstreams = Upstreams.from_settings(settings, StoredChannelBook())
    if workers > 1:
        configure_keyring(settings)  # for this process's background worker
        open_database(settings.database_url)
        migrate()  # once, here, before the workers open the database
        database.close()
        os.environ[logs.FORMAT_ENV] = log_format
        _print_urls(host, port, settings, workers=workers)
        with shared_metrics_dir(), background_worker(settings, upstreams, enabled=sync):
            run_server(APP_FACTORY, host, port, factory=True, workers=workers)
    else:
        app = create_app(settings, upstreams=upstreams)
        _print_urls(host, port, settings, workers=1)
        with background_worker(settings, upstreams, enabled=sync):
            run_server(app, host, port)
    close_database()  # requests and the worker are done: a clean goodbye to the server
    return 0


@contextmanager
def shared_metrics_dir() -> Iterator[None]:
    """Every process counts into one directory, so any worker's /metrics shows them all: the
    operator's ``PROMETHEUS_MULTIPROC_DIR`` or else a fresh one, removed afterwards."""
    if metrics.multiprocess_dir():
        yield
        return
    path = tempfile.mkdtemp(prefix="kling-gateway-metrics-")
    metrics.use_multiprocess_dir(path)
    try:
        yield
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def background_worker(settings: Settings, upstreams: Upstreams, *,
                      enabled: bool) -> Iterator[None]:
    """The sync worker in a thread of this process while the block runs."""
    if not enabled:
        yield
        return
    worker = Worker(settings, upstreams)
    thread = worker.start_thread()
    try:
        yield
    finally:
        worker.stop()
        thread.join(timeout=30)


def _print_urls(host: str, port: int, settings: Settings, *, workers: int) -> None:
    root = f"http://{host}:{port}"
    admin = "" if settings.admin_token else "  (disabled: set KLING_GATEWAY_ADMIN_TOKEN)"
    print("\n".join((
        f"kling-gateway on {root} ({workers} worker{'s' if workers > 1 else ''})",
        f"  Kling API     {root}/kling/v1/...  and  {root}/v1/...",
        f"  Swagger UI    {root}/kling/v1/ui/  and  {root}/v1/ui/",
        f"  admin API     {root}/admin/v1{admin}",
    )), flush=True)
    if workers > 1 and settings.token_requests_per_second and not settings.redis_url:
        log.warning("KLING_GATEWAY_TOKEN_REQUESTS_PER_SECOND is counted by each of the %d "
                    "worker processes on its own; set KLING_GATEWAY_REDIS_URL to share one "
                    "count between them (and between gateway instances)", workers)


def run_server(app: Any, host: str, port: int, **options: Any) -> None:
    # lifespan "on": Connexion resolves every operationId at start-up, and a handler that cannot
    # be resolved must stop the server rather than turn every request into a 500.
    with suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it shut down for
        # Our own line per request replaces uvicorn's access log (which shows raw paths, and a
        # callback URL's path holds its secret); log_config=None keeps our formatter.
        uvicorn.run(app, host=host, port=port, log_level="info", lifespan="on",
                    access_log=False, log_config=None, **options)


@contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` on a free local port in a daemon thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="demo-simulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the demo simulator did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
