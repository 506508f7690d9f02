"""The ``kling-gateway`` command: its parsers, and ``main``, which runs the command given.

Each command lives in a module of this package (``serve``, ``demo``, ``worker``,
``simulator``; ``admin`` for ``migrate`` and ``admin …``). The modules that serve are imported
only when their command runs, so ``kling-gateway admin …`` does not load the web stack.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from kling_gateway.cli import admin
from kling_gateway.config import SettingsError


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
    if not args.demo:
        from kling_gateway.cli.serve import serve

        return serve(args.host, args.port, workers=args.workers or os.cpu_count() or 1,
                     sync=not args.no_worker, log_format=args.log_format)
    from kling_gateway.cli.demo import serve_demo

    if args.workers not in (None, 1):
        print("--demo runs one worker; ignoring --workers", file=sys.stderr, flush=True)
    return serve_demo(args.host, args.port, log_format=args.log_format)


def _run_worker(args: argparse.Namespace) -> int:
    from kling_gateway.cli.worker import run_worker

    return run_worker(args)


def _run_simulator(args: argparse.Namespace) -> int:
    from kling_gateway.cli.simulator import run_simulator

    return run_simulator(args)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(prog="kling-gateway",
                                     description="The ``kling-gateway`` command.")
    commands = parser.add_subparsers(dest="command", required=True)
    _serve_parser(commands)
    _simulator_parser(commands)
    admin.add_parsers(commands)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except SettingsError as exc:  # a bad environment variable: say which, no traceback
        parser.exit(2, f"kling-gateway: {exc}\n")
