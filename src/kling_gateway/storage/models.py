"""Peewee models: the gateway's tables. Money columns hold integer 1/10000 CNY; times are Unix
milliseconds, like Kling's ``created_at``/``updated_at``."""

from __future__ import annotations

import json
from typing import Any

from peewee import (
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    Check,
    CompositeKey,
    DoubleField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from kling_gateway.storage.db import database
from kling_gateway.storage.encryption import EncryptedTextField


class JSONField(TextField):
    """JSON as text: portable across SQLite and PostgreSQL."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False,
                                                     separators=(",", ":"))

    def python_value(self, value: str | None) -> Any:
        return None if value is None else json.loads(value)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class User(BaseModel):
    name = CharField(max_length=100, unique=True)
    balance = BigIntegerField(default=0, constraints=[Check("balance >= 0")])
    disabled = BooleanField(default=False)
    created_at = BigIntegerField()

    class Meta:
        table_name = "users"


class ApiToken(BaseModel):
    user = ForeignKeyField(User, backref="tokens", on_delete="CASCADE")
    name = CharField(max_length=100)
    key_hash = CharField(max_length=64, unique=True)
    key_hint = CharField(max_length=16)
    access_key = CharField(max_length=64, unique=True)
    secret_key = EncryptedTextField(max_length=128)
    spend_limit = BigIntegerField(null=True)
    spent = BigIntegerField(default=0)
    expires_at = BigIntegerField(null=True)
    allowed_models = JSONField(null=True)
    revoked = BooleanField(default=False)
    created_at = BigIntegerField()

    class Meta:
        table_name = "api_tokens"
        constraints = [Check("spend_limit IS NULL OR spent <= spend_limit")]


class Price(BaseModel):
    key = CharField(max_length=200, primary_key=True)
    amount = BigIntegerField(constraints=[Check("amount >= 0")])
    updated_at = BigIntegerField()

    class Meta:
        table_name = "prices"


class Channel(BaseModel):
    name = CharField(max_length=100, unique=True)
    base_url = CharField(max_length=500)
    access_key = CharField(max_length=128)
    secret_key = EncryptedTextField(max_length=256)
    priority = IntegerField(default=0)
    weight = IntegerField(default=1)
    enabled = BooleanField(default=True)
    allowed_models = JSONField(null=True)
    max_concurrency = IntegerField(null=True)
    created_at = BigIntegerField()
    broken_code = IntegerField(null=True)
    """Kling's code that took the channel out of rotation (its keys or account are refused)."""
    broken_reason = TextField(null=True)
    """Kling's message with that code."""
    broken_at = BigIntegerField(null=True)
    """Set while the channel is out of rotation: no new work goes to it."""
    last_checked_at = BigIntegerField(null=True)
    """When the periodic check last asked Kling whether the channel works again."""

    class Meta:
        table_name = "channels"


class Task(BaseModel):
    id = CharField(max_length=32, primary_key=True)
    user = ForeignKeyField(User, backref="tasks", on_delete="CASCADE")
    token = ForeignKeyField(ApiToken, null=True, on_delete="SET NULL")
    channel = ForeignKeyField(Channel, null=True, on_delete="SET NULL")
    family = CharField(max_length=32)
    model_name = CharField(max_length=64, null=True)
    mode = CharField(max_length=16, null=True)
    duration = CharField(max_length=8, null=True)
    price_key = CharField(max_length=200)
    amount = BigIntegerField(default=0)
    upstream_task_id = CharField(max_length=64, null=True, index=True)
    external_task_id = CharField(max_length=200, null=True)
    status = CharField(max_length=16)
    status_msg = TextField(default="")
    request_body = JSONField()
    """The create body as the client sent it, Base64 images included (megabytes): read only to
    send the task upstream (``storage.tasks.request_body_of``), never to answer about it."""
    result = JSONField(null=True)
    reported_fields = JSONField(null=True)
    """What Kling reported beyond status and result, kept to relay as sent
    (``domain.task_object.reported_fields``): its billing, watermark and parent video."""
    watermark_enabled = BooleanField(null=True)
    """The body's ``watermark_info.enabled``, which task objects echo; null when not asked."""
    callback_url = TextField(null=True)
    created_at = BigIntegerField()
    updated_at = BigIntegerField()
    synced_at = BigIntegerField(null=True)
    """When the upstream state was last read; a stale unfinished task is refreshed on read."""
    next_poll_at = BigIntegerField(null=True)
    """When the worker should next look at the task (poll, dispatch or reconcile it)."""
    poll_count = IntegerField(default=0)
    lease_owner = CharField(max_length=64, null=True)
    lease_until = BigIntegerField(null=True)
    """A worker holding an unexpired lease is the only one touching the task upstream."""
    callback_secret = CharField(max_length=64, null=True)
    """Part of the gateway's own callback URL given to the upstream: unguessable per task."""

    class Meta:
        table_name = "tasks"
        indexes = (
            (("user", "external_task_id"), True),
            # "this user's tasks of this family, newest first"
            (("user", "family", "created_at", "id"), False),
            # the worker's "what is due next"
            (("status", "next_poll_at"), False),
        )


class LedgerEntry(BaseModel):
    id = BigAutoField()
    user = ForeignKeyField(User, backref="ledger", on_delete="CASCADE")
    kind = CharField(max_length=16)
    amount = BigIntegerField()
    balance_after = BigIntegerField()
    token = ForeignKeyField(ApiToken, null=True, on_delete="SET NULL")
    task = ForeignKeyField(Task, null=True, on_delete="SET NULL")
    refund_of = ForeignKeyField("self", null=True, unique=True, on_delete="RESTRICT")
    price_key = CharField(max_length=200, null=True)
    note = TextField(default="")
    created_at = BigIntegerField()

    class Meta:
        table_name = "ledger_entries"
        indexes = ((("user", "id"), False),)


class SelectionSession(BaseModel):
    """A multi-elements selection session: who owns it and which channel holds it."""

    session_id = CharField(max_length=64, primary_key=True)
    user = ForeignKeyField(User, on_delete="CASCADE")
    channel = ForeignKeyField(Channel, null=True, on_delete="SET NULL")
    created_at = BigIntegerField()
    expires_at = BigIntegerField()

    class Meta:
        table_name = "selection_sessions"


class OwnedObject(BaseModel):
    """An object upstream that a user's task or call made (``domain.owned``): requests naming
    it must be that user's, and go to the channel holding it."""

    kind = CharField(max_length=32)
    object_id = CharField(max_length=64)
    user = ForeignKeyField(User, on_delete="CASCADE")
    channel = ForeignKeyField(Channel, null=True, on_delete="SET NULL")
    task = ForeignKeyField(Task, null=True, on_delete="CASCADE")
    """The task that made it; None for what a synchronous call made."""
    created_at = BigIntegerField()
    seconds = DoubleField(null=True)
    """How long an audio or video lasts, as the result that made it said; None if unknown."""

    class Meta:
        table_name = "owned_objects"
        primary_key = CompositeKey("kind", "object_id")


class CallbackDelivery(BaseModel):
    """One status change to POST to the client's callback_url, written in the same
    transaction as the change itself (an outbox), delivered in ``sequence`` order."""

    id = BigAutoField()
    task = ForeignKeyField(Task, backref="deliveries", on_delete="CASCADE")
    sequence = IntegerField()
    url = TextField()
    payload = JSONField()
    attempts = IntegerField(default=0)
    next_attempt_at = BigIntegerField()
    last_status_code = IntegerField(null=True)
    last_error = TextField(null=True)
    delivered_at = BigIntegerField(null=True)
    abandoned_at = BigIntegerField(null=True)
    created_at = BigIntegerField()

    class Meta:
        table_name = "callback_deliveries"
        indexes = (
            (("task", "sequence"), True),
            (("delivered_at", "abandoned_at", "next_attempt_at"), False),
        )


class SchemaMigration(BaseModel):
    version = CharField(max_length=100, primary_key=True)
    applied_at = BigIntegerField()

    class Meta:
        table_name = "schema_migrations"


TABLES = [User, ApiToken, Price, Channel, Task, LedgerEntry, SelectionSession, OwnedObject,
          CallbackDelivery]


