"""Gateway settings, read from the environment in one place."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_DATABASE_URL = "sqlite:///kling-gateway.sqlite3"
# The largest request Kling accepts: image2video with `image`, `static_mask` and 6
# `dynamic_masks` (the motion brush excludes `image_tail`, so 8 images; multi-image2video takes
# 4), each a file of up to 10 MB sent as raw Base64: 4 characters per 3 bytes, 13,981,016 for
# 10 MiB. Add 4 MiB for the prompts, trajectories and JSON around them, and for encoders that
# escape "/" as "\/" (1/64 of Base64): 8 x 13,981,016 + 4 MiB = 116,042,432 bytes (~111 MiB).
IMAGE_BASE64_BYTES = 4 * -(-10 * 2**20 // 3)
DEFAULT_MAX_BODY_BYTES = 8 * IMAGE_BASE64_BYTES + 4 * 2**20
DEFAULT_MAX_UNKNOWN_FIELDS_BYTES = 64 * 1024
DEFAULT_LOST_AFTER_SECONDS = 90.0
"""Longer than the upstream read timeout (60 s): a ``submitting`` task this old whose channel
does not know it never got there (the gateway crashed or lost the answer)."""


class SettingsError(ValueError):
    """An environment variable the gateway cannot use; the message names it."""


@dataclass(frozen=True)
class DatabaseLimits:
    """How one process uses PostgreSQL (SQLite ignores them): a bounded pool of connections,
    and timeouts on every statement so that no query or lock wait holds a connection forever."""

    pool_size: int = 20
    """Connections one process holds at most. ``serve`` with its in-process worker needs about
    10 for requests and up to 18 for the worker (16 sync threads, the sync and callback loops);
    a thread that finds them all in use waits for one. Every process has its own pool: the sum
    over all processes must stay below PostgreSQL's ``max_connections`` (100 by default)."""
    pool_wait_seconds: float = 10.0
    """How long a thread waits for a free connection before its work fails (a request: 5000);
    0: it fails at once."""
    pool_recycle_seconds: float = 300.0
    """A connection older than this is closed instead of reused and a fresh one opened, so that
    server-side idle limits and a failover never leave the pool holding dead connections;
    0: connections live until they break."""
    statement_timeout_ms: int = 30_000
    """PostgreSQL cancels any statement running longer than this (``statement_timeout``); the
    request fails with 5000 instead of holding its connection. Migrations lift it (they run
    once, under a lock, and may rewrite large tables); 0: no limit."""
    lock_timeout_ms: int = 10_000
    """PostgreSQL gives up waiting for a row or table lock after this (``lock_timeout``), so
    requests do not pile up behind a long transaction or a DDL statement; 0: no limit."""

    def __post_init__(self) -> None:
        if self.pool_size < 1:
            raise ValueError(f"the database pool needs at least 1 connection, not {self.pool_size}")
        for name in ("pool_wait_seconds", "pool_recycle_seconds", "statement_timeout_ms",
                     "lock_timeout_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> DatabaseLimits:
        default = cls()
        return cls(
            pool_size=_whole_or(environ, "KLING_GATEWAY_DATABASE_POOL_SIZE", default.pool_size),
            pool_wait_seconds=_number_or(environ, "KLING_GATEWAY_DATABASE_POOL_WAIT_SECONDS",
                                         default.pool_wait_seconds),
            pool_recycle_seconds=_number_or(environ, "KLING_GATEWAY_DATABASE_POOL_RECYCLE_SECONDS",
                                            default.pool_recycle_seconds),
            statement_timeout_ms=_whole_or(environ, "KLING_GATEWAY_STATEMENT_TIMEOUT_MS",
                                           default.statement_timeout_ms),
            lock_timeout_ms=_whole_or(environ, "KLING_GATEWAY_LOCK_TIMEOUT_MS",
                                      default.lock_timeout_ms),
        )


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    """``sqlite:///path`` (default: a file in the working directory) or ``postgresql://…``."""
    database_limits: DatabaseLimits = field(default_factory=DatabaseLimits)
    """Pool size and timeouts on PostgreSQL."""
    admin_token: str | None = None
    """Bearer token of the admin API; the admin API refuses every call while it is unset."""
    public_url: str | None = None
    """The gateway's own public base URL; when set, upstreams report back to it by callback."""
    callback_allow_networks: tuple[str, ...] = ()
    """Networks (CIDR) a client's callback_url may point into although they are not globally
    routable (private, loopback, link-local, ...); empty: only public addresses."""
    callback_resolver: Callable[[str, int], Iterable[str]] | None = field(
        default=None, compare=False, repr=False)
    """How a callback_url's host becomes addresses, ``(host, port) -> addresses``; None: the
    system's resolver. Not read from the environment: tests give a fake one."""
    task_timeout_seconds: int = 24 * 3600
    """An unfinished task older than this fails and is refunded."""
    queue_timeout_seconds: int = 30 * 60
    """A task waiting for a free upstream slot longer than this fails and is refunded."""
    upstream_read_timeout_seconds: float = 60.0
    """How long to wait for Kling's answer before the outcome counts as unknown."""
    lost_after_seconds: float = DEFAULT_LOST_AFTER_SECONDS
    """A task still 'submitting' this long after submit lost its answer (a crash, a timeout):
    the worker looks it up upstream, then attaches it or fails and refunds it. Keep it above
    the upstream read timeout."""
    channel_check_seconds: float = 60.0
    """How often the worker asks Kling whether a channel taken out of rotation (its keys or
    account refused) works again, with a cheap authenticated read."""
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
    max_unknown_fields_bytes: int = DEFAULT_MAX_UNKNOWN_FIELDS_BYTES
    """Fields the contract does not define are stored and forwarded as they are (Kling may
    know them already); above this many bytes of them (their JSON, all together) a body is
    refused with 1201 / HTTP 400, so that nobody stores megabytes of nothing per task."""
    auth_cache_seconds: float = 1.0
    """How long a process reuses a token it read (``services/token_cache.py``); 0: off."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        return cls(
            database_url=environ.get("KLING_GATEWAY_DATABASE_URL") or DEFAULT_DATABASE_URL,
            database_limits=DatabaseLimits.from_env(environ),
            admin_token=environ.get("KLING_GATEWAY_ADMIN_TOKEN") or None,
            public_url=(environ.get("KLING_GATEWAY_PUBLIC_URL") or "").rstrip("/") or None,
            callback_allow_networks=_networks(environ, "KLING_GATEWAY_CALLBACK_ALLOW_NETWORKS"),
            task_timeout_seconds=_whole(environ, "KLING_GATEWAY_TASK_TIMEOUT_SECONDS")
            or 24 * 3600,
            queue_timeout_seconds=_whole(environ, "KLING_GATEWAY_QUEUE_TIMEOUT_SECONDS")
            or 30 * 60,
            upstream_read_timeout_seconds=_number(
                environ, "KLING_GATEWAY_UPSTREAM_READ_TIMEOUT_SECONDS") or 60.0,
            lost_after_seconds=_number(environ, "KLING_GATEWAY_LOST_AFTER_SECONDS")
            or DEFAULT_LOST_AFTER_SECONDS,
            channel_check_seconds=_number_or(environ, "KLING_GATEWAY_CHANNEL_CHECK_SECONDS",
                                             60.0),
            redis_url=environ.get("KLING_GATEWAY_REDIS_URL") or None,
            secret_key=environ.get("KLING_GATEWAY_SECRET_KEY") or None,
            old_secret_keys=tuple(k.strip() for k in
                                  environ.get("KLING_GATEWAY_OLD_SECRET_KEYS", "").split(",")
                                  if k.strip()),
            token_requests_per_second=_number(environ, "KLING_GATEWAY_TOKEN_REQUESTS_PER_SECOND"),
            token_running_tasks=_whole(environ, "KLING_GATEWAY_TOKEN_RUNNING_TASKS"),
            max_body_bytes=_whole(environ, "KLING_GATEWAY_MAX_BODY_BYTES")
            or DEFAULT_MAX_BODY_BYTES,
            max_unknown_fields_bytes=_whole_or(environ, "KLING_GATEWAY_MAX_UNKNOWN_FIELDS_BYTES",
                                               DEFAULT_MAX_UNKNOWN_FIELDS_BYTES),
            auth_cache_seconds=_number_or(environ, "KLING_GATEWAY_AUTH_CACHE_SECONDS", 1.0),
        )


def _number(environ: Mapping[str, str], name: str) -> float | None:
    value = environ.get(name)
    return _parsed(name, value, float) if value else None


def _number_or(environ: Mapping[str, str], name: str, default: float) -> float:
    """The variable's number; unset or empty: ``default`` (so that 0 can mean "off")."""
    value = environ.get(name)
    return _parsed(name, value, float) if value else default


def _whole_or(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name)
    return _parsed(name, value, int) if value else default


def _whole(environ: Mapping[str, str], name: str) -> int | None:
    value = environ.get(name)
    return _parsed(name, value, int) if value else None


def _parsed(name: str, value: str, kind: type[int] | type[float]) -> Any:
    try:
        return kind(value)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise SettingsError(f"{name}={value!r} is not {what}") from None


def _networks(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated CIDRs, each checked now rather than on every callback."""
    networks = tuple(n.strip() for n in environ.get(name, "").split(",") if n.strip())
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise SettingsError(f"{name}: {network!r} is not a network such as 10.0.0.0/8"
                                ) from None
    return networks
