"""Who is calling: a gateway API key, or a Kling-style JWT signed with a token's secret key."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

from kling_gateway import kling_jwt, logs
from kling_gateway.domain.errors import AuthenticationFailed, TokenExpired
from kling_gateway.services.accounts import hash_api_key
from kling_gateway.services.token_cache import tokens
from kling_gateway.storage import tokens as token_store
from kling_gateway.storage.records import Credential


@dataclass(frozen=True)
class Caller:
    user_id: int
    user_name: str
    token_id: int
    allowed_models: tuple[str, ...] | None


class _NotCached(Exception):
    """A cache-only lookup missed: the database must be asked."""


TokenLookup = Callable[[str, str], Credential | None]
"""Finds a token with its user by what names it: ``("key", key hash)`` or ``("access", access
key)``."""
_READS: dict[str, Callable[[str], Credential | None]] = {
    "key": token_store.credential_by_key_hash, "access": token_store.credential_by_access_key}


def authenticate(authorization: str | None, *, now: float | None = None) -> Caller:
    """The caller behind an ``Authorization`` header, or the official 1000-1004 error."""
    return _authenticate(authorization, now, _token_with_user)


def authenticate_from_cache(authorization: str | None, *,
                            now: float | None = None) -> Caller | None:
    """``authenticate`` without touching the database (safe on the event loop): the caller when
    the token was read a moment ago (``token_cache``), else None."""
    try:
        return _authenticate(authorization, now, _cached_token)
    except _NotCached:
        return None


def _authenticate(authorization: str | None, now: float | None,
                  find: TokenLookup) -> Caller:
    credential = kling_jwt.bearer_token(authorization)
    if kling_jwt.looks_like_jwt(credential):
        token = _verified_jwt_token(credential, now, find)
    else:
        key_hash = hash_api_key(credential)
        token = find("key", key_hash)
        if token is None:
            raise AuthenticationFailed("authentication failed: unknown API key")
    return _caller(token, time.time() if now is None else now)


def _verified_jwt_token(credential: str, now: float | None, find: TokenLookup) -> Credential:
    """The token whose secret key signed ``credential``; its row is read once, for the
    signature check and for the caller."""
    found: list[Credential] = []

    def secret_of(access_key: str) -> str | None:
        token = find("access", access_key)
        if token is None:
            return None
        found.append(token)
        return token.secret_key

    kling_jwt.verify(credential, secret_of, now=now)
    return found[-1]


def _token_with_user(kind: str, value: str) -> Credential | None:
    """One query for the token and its user, unless they were read a moment ago."""
    cache_key = f"{kind}:{value}"
    token = tokens.lookup(cache_key)
    if token is None:
        token = _READS[kind](value)
        if token is not None:
            tokens.remember(cache_key, token)
    return token


def _cached_token(kind: str, value: str) -> Credential | None:
    cache_key = f"{kind}:{value}"
    token = tokens.lookup(cache_key)
    if token is None:
        raise _NotCached(cache_key)
    return token


def _caller(token: Credential, now: float) -> Caller:
    if token.revoked:
        raise AuthenticationFailed("authentication failed: the token has been revoked")
    if token.user_disabled:
        raise AuthenticationFailed("authentication failed: the user is disabled")
    if token.expires_at is not None and now * 1000 >= token.expires_at:
        raise TokenExpired("the token has expired")
    logs.note(user=token.user_name, token_id=token.token_id)
    return Caller(user_id=token.user_id, user_name=token.user_name, token_id=token.token_id,
                  allowed_models=token.allowed_models)


def authenticate_admin(authorization: str | None, admin_token: str | None) -> dict[str, str]:
    """The admin API answers only to ``KLING_GATEWAY_ADMIN_TOKEN``; unset, it answers no one."""
    credential = kling_jwt.bearer_token(authorization)
    if admin_token is None:
        raise AuthenticationFailed(
            "authentication failed: the admin API is disabled; set KLING_GATEWAY_ADMIN_TOKEN")
    if not hmac.compare_digest(credential.encode(), admin_token.encode()):
        raise AuthenticationFailed("authentication failed: wrong admin token")
    logs.note(user="admin")
    return {"sub": "admin"}
