"""How a simulated Kling service behaves: its accounts, timing, limits and injected faults."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ACCESS_KEY = "sim-access-key"
DEFAULT_SECRET_KEY = "sim-secret-key-0123456789abcdef0123"


@dataclass(frozen=True)
class SimulatorSettings:
    accounts: dict[str, str] = field(
        default_factory=lambda: {DEFAULT_ACCESS_KEY: DEFAULT_SECRET_KEY})
    """Access key → secret key of every account the simulator knows."""
    account_problems: dict[str, int] = field(default_factory=dict)
    """Access key → the official code every call of that account is refused with once its
    token checks out: 1100 (account exception), 1101 (in arrears), 1102 (resource pack used up).
    The simulator starts with these; ``Simulator.account_problems`` is the state at run time."""
    account_models: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Access key → the only ``model_name``s that account may create tasks with; a create for
    another model is refused with 1103. An account not named here may use every model."""
    task_seconds: float = 10.0
    """Time from submit to a final status; a task is ``processing`` after a fifth of it."""
    concurrency: int = 5
    """Slots per account: a video task holds one, an image task ``n``, until it ends."""
    latency_ms: int = 0
    """Added to every API answer."""
    failure_rate: float = 0.0
    """Share of create requests refused before anything is created ..."""
    failure_code: int = 5000
    """... with this official code: 5000 (HTTP 500), 5001 (503) or 5002 (504)."""
    slow_seconds: float = 5.0
    """How long a create whose prompt carries the slow marker waits before answering."""
    session_hours: float = 24.0
    """Lifetime of a multi-elements selection session."""
    seed: int | None = None
    """Seeds ids and the failure draw, for reproducible runs."""
    ticker_seconds: float | None = 0.05
    """Interval of the background thread that advances tasks; None leaves it to requests."""

    @staticmethod
    def accounts_from_file(path: str | Path) -> dict[str, str]:
        """Reads ``{"accounts": [{"access_key": ..., "secret_key": ...}, ...]}``."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return {item["access_key"]: item["secret_key"] for item in data["accounts"]}
