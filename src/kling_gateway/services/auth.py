"""Who is calling: a gateway API key, or a Kling-style JWT signed with a token's secret key."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from kling_gateway import kling_jwt, logs
from kling_gateway.domain.errors import AuthenticationFailed, TokenExpired
from kling_gateway.services.accounts import hash_api_key
from kling_gateway.storage.models import ApiToken, User


@dataclass(frozen=True)
class Caller:
    user_id: int
    user_name: str
    token_id: int
    allowed_models: tuple[str, ...] | None


def authenticate(authorization: str | None, *, now: float | None = None) -> Caller:
    """The caller behind an ``Authorization`` header, or the official 1000-1004 error."""
    credential = kling_jwt.bearer_token(authorization)
    if kling_jwt.looks_like_jwt(credential):
        access_key = kling_jwt.verify(credential, _secret_of, now=now)
        token = ApiToken.get(ApiToken.access_key == access_key)
    else:
        token = ApiToken.get_or_none(ApiToken.key_hash == hash_api_key(credential))
        if token is None:
            raise AuthenticationFailed("authentication failed: unknown API key")
    return _caller(token, time.time() if now is None else now)


def _secret_of(access_key: str) -> str | None:
    token = ApiToken.get_or_none(ApiToken.access_key == access_key)
    return None if token is None else token.secret_key


def _caller(token: ApiToken, now: float) -> Caller:
    if token.revoked:
        raise AuthenticationFailed("authentication failed: the token has been revoked")
    user = User.get_by_id(token.user_id)
    if user.disabled:
        raise AuthenticationFailed("authentication failed: the user is disabled")
    if token.expires_at is not None and now * 1000 >= token.expires_at:
        raise TokenExpired("the token has expired")
    models = tuple(token.allowed_models) if token.allowed_models else None
    logs.note(user=user.name, token_id=token.id)
    return Caller(user_id=user.id, user_name=user.name, token_id=token.id, allowed_models=models)


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
