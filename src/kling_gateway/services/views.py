"""JSON-ready views of gateway records, shared by the admin API and the admin CLI's ``--json``.

Money is shown as decimal CNY strings; secrets are never part of a view.
"""

from __future__ import annotations

from typing import Any

from kling_gateway.domain.money import format_cny
from kling_gateway.services.accounts import IssuedToken
from kling_gateway.storage.models import ApiToken, LedgerEntry, Price, User


def user_view(user: User) -> dict[str, Any]:
    return {"name": user.name, "balance": format_cny(user.balance),
            "disabled": user.disabled, "created_at": user.created_at}


def token_view(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "api_key": f"{token.key_hint}…",
        "access_key": token.access_key,
        "spend_limit": None if token.spend_limit is None else format_cny(token.spend_limit),
        "spent": format_cny(token.spent),
        "expires_at": token.expires_at,
        "allowed_models": token.allowed_models,
        "revoked": token.revoked,
        "created_at": token.created_at,
    }


def issued_token_view(issued: IssuedToken) -> dict[str, Any]:
    """The only view that carries credentials: answered once, when the token is created."""
    return {**token_view(issued.token), "api_key": issued.api_key,
            "access_key": issued.access_key, "secret_key": issued.secret_key}


def ledger_entry_view(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "kind": entry.kind,
        "amount": format_cny(entry.amount),
        "balance_after": format_cny(entry.balance_after),
        "task_id": entry.task_id,
        "token_id": entry.token_id,
        "refund_of": entry.refund_of_id,
        "price_key": entry.price_key,
        "note": entry.note,
        "created_at": entry.created_at,
    }


def price_view(price: Price) -> dict[str, Any]:
    return {"key": price.key, "price": format_cny(price.amount), "updated_at": price.updated_at}


def summary_view(totals: dict[str, int]) -> dict[str, Any]:
    return {"users": totals["users"],
            **{name: format_cny(value) for name, value in totals.items() if name != "users"}}
