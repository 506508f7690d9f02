"""``kling-gateway simulator``: the fake Kling API under uvicorn (tests, demos, benchmarks)."""

from __future__ import annotations

import argparse

import uvicorn

from kling_gateway.simulator.app import create_simulator_app
from kling_gateway.simulator.settings import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_SECRET_KEY,
    SimulatorSettings,
)


def run_simulator(args: argparse.Namespace) -> int:
    """Serve the simulator with the accounts and fault knobs the options give."""
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


def _accounts(args: argparse.Namespace) -> dict[str, str]:
    if len(args.access_key) != len(args.secret_key):
        raise SystemExit("give one --secret-key for every --access-key")
    accounts = dict(zip(args.access_key, args.secret_key, strict=True))
    if args.accounts_file:
        accounts.update(SimulatorSettings.accounts_from_file(args.accounts_file))
    return accounts or {DEFAULT_ACCESS_KEY: DEFAULT_SECRET_KEY}
