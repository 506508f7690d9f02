"""The ``kling-gateway`` command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from kling_gateway import cli_admin
from kling_gateway.config import SettingsError
from kling_gateway.simulator.settings import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_SECRET_KEY,
    SimulatorSettings,
)


def _simulator_parser(commands: argparse._SubParsersAction) -> None:
    sim = commands.add_parser(
        "simulator", help="serve a simulated Kling API (for tests, demos and benchmarks)",
        description="Serve openapi/kling.yaml with in-memory handlers that behave like Kling.")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8700)
    sim.add_argument("--access-key", action="append", default=[],
                     help="an account's access key (repeat with --secret-key for more accounts)")
    sim.add_argument("--secret-key", action="append", default=[],
                     help="the secret key of the --access-key at the same position")
    sim.add_argument("--accounts-file",
                     help='JSON: {"accounts": [{"access_key": ..., "secret_key": ...}]}')
    sim.add_argument("--task-seconds", type=float, default=10.0,
                     help="time from submit to succeed (default 10)")
    sim.add_argument("--concurrency", type=int, default=5,
                     help="concurrent task slots per account (default 5)")
    sim.add_argument("--latency-ms", type=int, default=0, help="delay added to every answer")
    sim.add_argument("--failure-rate", type=float, default=0.0,
                     help="share of creates refused (0..1), with --failure-code")
    sim.add_argument("--failure-code", type=int, choices=(5000, 5001, 5002), default=5000,
                     help="code of those refusals: 5000 (HTTP 500), 5001 (503), 5002 (504)")
    sim.add_argument("--slow-seconds", type=float, default=5.0,
                     help="delay of a create whose prompt contains #sim-slow")
    sim.add_argument("--seed", type=int, help="seed for ids and the failure draw")
    sim.set_defaults(run=_run_simulator)


def _serve_parser(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve", help="serve the gateway (--demo: a ready-to-try gateway on the simulator)",
        description="Serve the Kling API at /kling/v1 and /v1 and the admin API at /admin/v1, "
                    "configured by KLING_GATEWAY_DATABASE_URL and KLING_GATEWAY_ADMIN_TOKEN.")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=_worker_count, default=None,
                       help="uvicorn worker processes (default: one per CPU core)")
    serve.add_argument("--demo", action="store_true",
                       help="SQLite file kling-gateway-demo.sqlite3, the simulator in-process as "
                            "the upstream, a demo user and fresh keys printed with curl lines "
                            "(one worker)")
    serve.add_argument("--no-worker", action="store_true",
                       help="do not run the background worker in this process (run "
                            "'kling-gateway worker' separately)")
    _log_format_option(serve)
    serve.set_defaults(run=_run_serve)
    worker = commands.add_parser(
        "worker", help="finish tasks in the background and deliver callbacks",
        description="Poll upstream tasks, send queued ones, reconcile lost ones, fail and refund "
                    "overdue ones and deliver client callbacks; several workers may share "
                    "one PostgreSQL database.")
    _log_format_option(worker)
    worker.set_defaults(run=_run_worker)


def _log_format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-format", choices=("json", "text"), default="json",
                        help="json: one object a line, one line per request (default); text: "
                             "for people")


def _worker_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _run_serve(args: argparse.Namespace) -> int:
    from kling_gateway import serve

    if not args.demo:
        return serve.serve(args.host, args.port, workers=args.workers or os.cpu_count() or 1,
                           sync=not args.no_worker, log_format=args.log_format)
    if args.workers not in (None, 1):
        print("--demo runs one worker; ignoring --workers", file=sys.stderr, flush=True)
    return serve.serve_demo(args.host, args.port, log_format=args.log_format)


def _run_worker(args: argparse.Namespace) -> int:
    import signal

    from kling_gateway import logs
    from kling_gateway.config import Settings
    from kling_gateway.services.upstreams import Upstreams
    from kling_gateway.storage.db import close_database, open_database
    from kling_gateway.storage.encryption import configure_keyring
    from kling_gateway.storage.migrations import migrate
    from kling_gateway.worker import Worker

    logs.configure(args.log_format)
    settings = Settings.from_env()
    configure_keyring(settings)
    open_database(settings.database_url)
    migrate()
    worker = Worker(settings, Upstreams.from_settings(settings))
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    worker.run()
    close_database()
    return 0


def _accounts(args: argparse.Namespace) -> dict[str, str]:
    if len(args.access_key) != len(args.secret_key):
        raise SystemExit("give one --secret-key for every --access-key")
    accounts = dict(zip(args.access_key, args.secret_key, strict=True))
    if args.accounts_file:
        accounts.update(SimulatorSettings.accounts_from_file(args.accounts_file))
    return accounts or {DEFAULT_ACCESS_KEY: DEFAULT_SECRET_KEY}


def _run_simulator(args: argparse.Namespace) -> int:
    import uvicorn

    from kling_gateway.simulator.app import create_simulator_app

    if not 0 <= args.failure_rate <= 1:
        raise SystemExit("--failure-rate must be between 0 and 1")
    settings = SimulatorSettings(
        accounts=_accounts(args), task_seconds=args.task_seconds, concurrency=args.concurrency,
        latency_ms=args.latency_ms, failure_rate=args.failure_rate,
        failure_code=args.failure_code,
        slow_seconds=args.slow_seconds, seed=args.seed)
    app, simulator = create_simulator_app(settings)
    base = f"http://{args.host}:{args.port}"
    print(f"Kling simulator on {base}  (Swagger UI: {base}/v1/ui/)", flush=True)
    for access_key, secret_key in settings.accounts.items():
        print(f"  account: access key {access_key}  secret key {secret_key}", flush=True)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        simulator.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(prog="kling-gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    _serve_parser(commands)
    _simulator_parser(commands)
    cli_admin.add_parsers(commands)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except SettingsError as exc:  # a bad environment variable: say which, no traceback
        parser.exit(2, f"kling-gateway: {exc}\n")


if __name__ == "__main__":
    sys.exit(main())
