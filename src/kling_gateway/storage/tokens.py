"""API tokens: named reads and writes. The admin gets ``TokenRecord``s (no secrets);
authentication gets a ``Credential``: the token and its user, read in one query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from peewee import Expression

from kling_gateway.storage.db import is_postgres
from kling_gateway.storage.models import ApiToken, Task, User
from kling_gateway.storage.records import Credential, TokenRecord


def _record(token: ApiToken) -> TokenRecord:
    return TokenRecord(id=token.id, user_id=token.user_id, name=token.name,
                       key_hint=token.key_hint, access_key=token.access_key,
                       spend_limit=token.spend_limit, spent=token.spent,
                       expires_at=token.expires_at, allowed_models=_models(token.allowed_models),
                       revoked=token.revoked, created_at=token.created_at)


def _models(stored: list[str] | None) -> tuple[str, ...] | None:
    return None if stored is None else tuple(stored)


def insert(user_id: int, name: str, *, key_hash: str, key_hint: str, access_key: str,
           secret_key: str, spend_limit: int | None, expires_at: int | None,
           allowed_models: Sequence[str] | None, now: int) -> TokenRecord:
    return _record(ApiToken.create(
        user=user_id, name=name, key_hash=key_hash, key_hint=key_hint, access_key=access_key,
        secret_key=secret_key, spend_limit=spend_limit, expires_at=expires_at,
        allowed_models=list(allowed_models) if allowed_models else None, created_at=now))


def tokens_of_user(user_id: int) -> list[TokenRecord]:
    """The user's tokens in the order they were made, revoked ones included."""
    return [_record(token) for token in
            ApiToken.select().where(ApiToken.user == user_id).order_by(ApiToken.id)]


def revoke(token_id: int) -> TokenRecord | None:
    """Revoke the token; None when there is no such token."""
    if not ApiToken.update(revoked=True).where(ApiToken.id == token_id).execute():
        return None
    return _record(ApiToken.get_by_id(token_id))


def credential_by_key_hash(key_hash: str) -> Credential | None:
    return _credential(ApiToken.key_hash == key_hash)


def credential_by_access_key(access_key: str) -> Credential | None:
    return _credential(ApiToken.access_key == access_key)


def _credential(condition: Expression) -> Credential | None:
    """One query for the token and its user."""
    token: Any = ApiToken.select(ApiToken, User).join(User).where(condition).get_or_none()
    if token is None:
        return None
    user = token.user  # joined: no query
    return Credential(token_id=token.id, secret_key=token.secret_key, revoked=token.revoked,
                      expires_at=token.expires_at,
                      allowed_models=tuple(token.allowed_models) if token.allowed_models
                      else None,
                      user_id=user.id, user_name=user.name, user_disabled=user.disabled)


def secret_of_task(task_id: str) -> str | None:
    """The secret key of the token that submitted the task (callbacks are signed with it);
    None when that token no longer exists."""
    return (ApiToken.select(ApiToken.secret_key).join(Task, on=(Task.token == ApiToken.id))
            .where(Task.id == task_id).scalar())


def lock(token_id: int) -> None:
    """Inside a transaction, hold the token's row until it ends (PostgreSQL: ``FOR UPDATE``),
    so that two submits of one token count its tasks one after the other. SQLite writers queue
    anyway: nothing to do."""
    if is_postgres():
        ApiToken.select(ApiToken.id).where(ApiToken.id == token_id).for_update().get()
