"""What the storage hands up: plain frozen values, read from a row once, with no database behind
them. Services, handlers and views read these; only ``storage/`` knows the Peewee models.

Field names are the models' (a foreign key as ``<name>_id``), so a record reads like the row it
came from. JSON columns holding lists come up as tuples (a view turns them back into lists).

A task still travels up as its row (``TaskRow``): see that class for why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from kling_gateway.domain.owned import Resource


@dataclass(frozen=True)
class UserRecord:
    id: int
    name: str
    balance: int
    disabled: bool
    created_at: int


@dataclass(frozen=True)
class TokenRecord:
    """An API token as the admin sees it: no secret key, the API key only by its hint."""

    id: int
    user_id: int
    name: str
    key_hint: str
    access_key: str
    spend_limit: int | None
    spent: int
    expires_at: int | None
    allowed_models: tuple[str, ...] | None
    revoked: bool
    created_at: int


@dataclass(frozen=True)
class Credential:
    """What authenticating a request needs of a token and its user, read in one query."""

    token_id: int
    secret_key: str
    revoked: bool
    expires_at: int | None
    allowed_models: tuple[str, ...] | None
    user_id: int
    user_name: str
    user_disabled: bool


@dataclass(frozen=True)
class LedgerRecord:
    """One ledger entry: a balance change and the balance after it."""

    id: int
    user_id: int
    kind: str
    amount: int
    balance_after: int
    token_id: int | None
    task_id: str | None
    refund_of_id: int | None
    price_key: str | None
    note: str
    created_at: int


@dataclass(frozen=True)
class PriceRecord:
    key: str
    amount: int
    updated_at: int


@dataclass(frozen=True)
class ChannelRecord:
    """An upstream Kling account, secret key included (the client for it needs it)."""

    id: int
    name: str
    base_url: str
    access_key: str
    secret_key: str
    priority: int
    weight: int
    enabled: bool
    allowed_models: tuple[str, ...] | None
    max_concurrency: int | None
    created_at: int
    broken_code: int | None
    broken_reason: str | None
    broken_at: int | None
    """Set while the channel is out of rotation."""
    last_checked_at: int | None


@dataclass(frozen=True)
class SessionRecord:
    """A multi-elements selection session: whose it is and which channel holds it."""

    session_id: str
    user_id: int
    channel_id: int | None
    created_at: int
    expires_at: int


@dataclass(frozen=True)
class OwnedRecord:
    """An object upstream a user's task or call made: whose it is and which channel holds it."""

    resource: Resource
    object_id: str
    user_id: int
    channel_id: int | None
    created_at: int
    seconds: float | None = None
    """How long an audio or video lasts, when its result said."""


@dataclass(frozen=True)
class DeliveryRecord:
    """One callback delivery (a status change to POST to a client) as last read."""

    id: int
    task_id: str
    sequence: int
    url: str
    payload: dict[str, Any]
    attempts: int
    next_attempt_at: int
    last_status_code: int | None
    last_error: str | None
    delivered_at: int | None
    abandoned_at: int | None
    created_at: int


class TaskRow(Protocol):
    """A task as ``storage.tasks`` reads it (every column but the request body).

    This one is still the Peewee row itself, read by the prepared statements
    (``storage/prepared.py``), which build rows without peewee's per-column work: the read,
    list and worker paths hand hundreds of them up at a time, and copying each into a frozen
    value would add that work back. Callers only read these attributes and never save the row:
    every write goes through ``storage.tasks`` (compare-and-set moves, leases)."""

    id: str
    user_id: int
    token_id: int | None
    channel_id: int | None
    family: str
    model_name: str | None
    mode: str | None
    duration: str | None
    price_key: str
    amount: int
    upstream_task_id: str | None
    external_task_id: str | None
    status: str
    status_msg: str
    result: Any
    reported_fields: Any
    watermark_enabled: bool | None
    callback_url: str | None
    created_at: int
    updated_at: int
    synced_at: int | None
    next_poll_at: int | None
    poll_count: int
    lease_owner: str | None
    lease_until: int | None
    callback_secret: str | None
