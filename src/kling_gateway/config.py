"""Gateway settings, read from the environment in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///kling-gateway.sqlite3"
# The largest request Kling accepts: image2video with `image`, `static_mask` and 6
# `dynamic_masks` (the motion brush excludes `image_tail`, so 8 images; multi-image2video takes
# 4), each a file of up to 10 MB sent as raw Base64: 4 characters per 3 bytes, 13,981,016 for
# 10 MiB. Add 4 MiB for the prompts, trajectories and JSON around them, and for encoders that
# escape "/" as "\/" (1/64 of Base64): 8 x 13,981,016 + 4 MiB = 116,042,432 bytes (~111 MiB).
IMAGE_BASE64_BYTES = 4 * -(-10 * 2**20 // 3)
DEFAULT_MAX_BODY_BYTES = 8 * IMAGE_BASE64_BYTES + 4 * 2**20


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    """``sqlite:///path`` (default: a file in the working directory) or ``postgresql://…``."""
    admin_token: str | None = None
    """Bearer token of the admin API; the admin API refuses every call while it is unset."""
    public_url: str | None = None
    """The gateway's own public base URL; when set, upstreams report back to it by callback."""
    callback_allow_networks: tuple[str, ...] = ()
    """Networks (CIDR) a client's callback_url may point into although they are private,
    loopback or link-local; empty: only public addresses."""
    task_timeout_seconds: int = 24 * 3600
    """An unfinished task older than this fails and is refunded."""
    queue_timeout_seconds: int = 30 * 60
    """A task waiting for a free upstream slot longer than this fails and is refunded."""
    upstream_read_timeout_seconds: float = 60.0
    """How long to wait for Kling's answer before the outcome counts as unknown."""
    lost_after_seconds: float = 90.0
    """A task still 'submitting' this long after submit lost its answer (a crash, a timeout):
    the worker looks it up upstream, then attaches it or fails and refunds it. Keep it above
    the upstream read timeout."""
    redis_url: str | None = None
    """Shared state for several instances (rate limits); unset: kept in each process."""
    secret_key: str | None = None
    """Encrypts channel and token secret keys at rest: a Fernet key, or at least 32 random
    characters (``storage/encryption.py``); unset: development mode, secrets stored in clear."""
    old_secret_keys: tuple[str, ...] = ()
    """Previous secret keys, still accepted for decryption while a rotation is under way."""
    token_requests_per_second: float | None = None
    """Per-token request rate (1302 / HTTP 429 above it); unset: no limit."""
    token_running_tasks: int | None = None
    """Per-token unfinished tasks at once (1302 / HTTP 429 above it); unset: no limit."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """A request body above this is refused with 1201 / HTTP 400 before it is read."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        networks = environ.get("KLING_GATEWAY_CALLBACK_ALLOW_NETWORKS", "")
        return cls(
            database_url=environ.get("KLING_GATEWAY_DATABASE_URL") or DEFAULT_DATABASE_URL,
            admin_token=environ.get("KLING_GATEWAY_ADMIN_TOKEN") or None,
            public_url=(environ.get("KLING_GATEWAY_PUBLIC_URL") or "").rstrip("/") or None,
            callback_allow_networks=tuple(n.strip() for n in networks.split(",") if n.strip()),
            task_timeout_seconds=int(environ.get("KLING_GATEWAY_TASK_TIMEOUT_SECONDS")
                                     or 24 * 3600),
            queue_timeout_seconds=int(environ.get("KLING_GATEWAY_QUEUE_TIMEOUT_SECONDS")
                                      or 30 * 60),
            upstream_read_timeout_seconds=float(
                environ.get("KLING_GATEWAY_UPSTREAM_READ_TIMEOUT_SECONDS") or 60.0),
            lost_after_seconds=float(environ.get("KLING_GATEWAY_LOST_AFTER_SECONDS") or 90.0),
            redis_url=environ.get("KLING_GATEWAY_REDIS_URL") or None,
            secret_key=environ.get("KLING_GATEWAY_SECRET_KEY") or None,
            old_secret_keys=tuple(k.strip() for k in
                                  environ.get("KLING_GATEWAY_OLD_SECRET_KEYS", "").split(",")
                                  if k.strip()),
            token_requests_per_second=_number(environ, "KLING_GATEWAY_TOKEN_REQUESTS_PER_SECOND"),
            token_running_tasks=_whole(environ, "KLING_GATEWAY_TOKEN_RUNNING_TASKS"),
            max_body_bytes=_whole(environ, "KLING_GATEWAY_MAX_BODY_BYTES")
            or DEFAULT_MAX_BODY_BYTES,
        )


def _number(environ: Mapping[str, str], name: str) -> float | None:
    value = environ.get(name)
    return float(value) if value else None


def _whole(environ: Mapping[str, str], name: str) -> int | None:
    value = environ.get(name)
    return int(value) if value else None
