"""Handlers of the ``tokens`` tag. Only ``create_token`` answers credentials, and only once."""

from __future__ import annotations

from typing import Any

from kling_gateway.domain.money import parse_cny
from kling_gateway.services import accounts
from kling_gateway.services.views import issued_token_view, token_view
from kling_gateway.web.envelope import ok

Answer = dict[str, Any]


def create_token(name: str, body: dict[str, Any] | None = None) -> Answer:
    """Without a body (or with ``{}``) the token gets the defaults: no limit, every model."""
    body = body or {}
    limit = body.get("spend_limit")
    issued = accounts.create_token(
        name, body.get("name", "default"),
        spend_limit=None if limit is None else parse_cny(limit, field="spend_limit"),
        expires_at=body.get("expires_at"), allowed_models=body.get("allowed_models"))
    return ok(issued_token_view(issued))


def list_tokens(name: str) -> Answer:
    return ok([token_view(token) for token in accounts.list_tokens(name)])


def revoke_token(token_id: int) -> Answer:
    return ok(token_view(accounts.revoke_token(token_id)))
