"""Users, their API tokens and their money: what the admin API and the admin CLI both call."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.errors import InvalidParameter, ResourceNotFound
from kling_gateway.domain.ledger import EntryKind
from kling_gateway.domain.names import check_name
from kling_gateway.services.token_cache import tokens
from kling_gateway.storage import accounts as account_store
from kling_gateway.storage import ledger
from kling_gateway.storage import tokens as token_store
from kling_gateway.storage.db import write_transaction
from kling_gateway.storage.records import LedgerRecord, TokenRecord, UserRecord

API_KEY_PREFIX = "kg-"


@dataclass(frozen=True)
class IssuedToken:
    """A new token's credentials: shown once, then only the hash and the access key remain."""

    token: TokenRecord
    api_key: str
    access_key: str
    secret_key: str


def hash_api_key(api_key: str) -> str:
    # API keys are 256 random bits, so a fast hash is enough; there is nothing to brute-force.
    return hashlib.sha256(api_key.encode()).hexdigest()


def create_user(name: str, balance: int = 0) -> UserRecord:
    check_name(name)
    if balance < 0:
        raise InvalidParameter("invalid parameter 'balance': must not be negative")
    with write_transaction():
        user = account_store.insert_user(name, now_ms())
        if user is None:
            raise InvalidParameter(f"invalid parameter 'name': user '{name}' exists")
        if balance:
            ledger.credit(user.id, balance, EntryKind.TOPUP, note="opening balance")
    return account_store.user_by_id(user.id)


def find_user(name: str) -> UserRecord:
    user = account_store.user_by_name(name)
    if user is None:
        raise ResourceNotFound(f"no user '{name}'")
    return user


def list_users(page_num: int = 1, page_size: int = 30) -> list[UserRecord]:
    return account_store.users_page(page_num, page_size)


def set_disabled(name: str, disabled: bool) -> UserRecord:
    user = account_store.set_disabled(find_user(name).id, disabled)
    tokens.forget_all()
    return user


def top_up(name: str, amount: int, note: str = "") -> LedgerRecord:
    if amount <= 0:
        raise InvalidParameter("invalid parameter 'amount': a top-up must be positive")
    return ledger.credit(find_user(name).id, amount, EntryKind.TOPUP, note=note)


def adjust(name: str, amount: int, note: str) -> LedgerRecord:
    if amount == 0:
        raise InvalidParameter("invalid parameter 'amount': an adjustment cannot be zero")
    return ledger.credit(find_user(name).id, amount, EntryKind.ADJUSTMENT, note=note)


def ledger_page(name: str, page_num: int = 1, page_size: int = 30) -> list[LedgerRecord]:
    return ledger.page_of_user(find_user(name).id, page_num, page_size)


def create_token(user_name: str, token_name: str = "default", *,
                 spend_limit: int | None = None, expires_at: int | None = None,
                 allowed_models: Sequence[str] | None = None) -> IssuedToken:
    user = find_user(user_name)
    _check_token_terms(token_name, spend_limit, expires_at)
    api_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    access_key = "ak" + secrets.token_hex(15)
    secret_key = secrets.token_hex(16)
    token = token_store.insert(
        user.id, token_name, key_hash=hash_api_key(api_key), key_hint=api_key[:7],
        access_key=access_key, secret_key=secret_key, spend_limit=spend_limit,
        expires_at=expires_at, allowed_models=allowed_models, now=now_ms())
    return IssuedToken(token=token, api_key=api_key, access_key=access_key,
                       secret_key=secret_key)


def _check_token_terms(name: str, spend_limit: int | None, expires_at: int | None) -> None:
    if not name or len(name) > 100:
        raise InvalidParameter("invalid parameter 'name': a token name has 1 to 100 characters")
    if spend_limit is not None and spend_limit < 0:
        raise InvalidParameter("invalid parameter 'spend_limit': must not be negative")
    if expires_at is not None and expires_at <= now_ms():
        raise InvalidParameter("invalid parameter 'expires_at': must be in the future")


def list_tokens(user_name: str) -> list[TokenRecord]:
    return token_store.tokens_of_user(find_user(user_name).id)


def revoke_token(token_id: int) -> TokenRecord:
    token = token_store.revoke(token_id)
    if token is None:
        raise ResourceNotFound(f"no token {token_id}")
    tokens.forget_all()
    return token


def summary() -> dict[str, int]:
    """Totals over every user: balances, charges net of refunds, top-ups."""
    total = ledger.total_of_kind
    return {
        "users": account_store.count_users(),
        "balance": account_store.total_balance(),
        "spent": -(total(EntryKind.CHARGE) + total(EntryKind.REFUND)),
        "topped_up": total(EntryKind.TOPUP),
        "adjusted": total(EntryKind.ADJUSTMENT),
    }


def balance_summary(user_id: int) -> dict[str, int]:
    """The user's balance, what was ever put in (top-ups and adjustments) and since when."""
    return ledger.balance_summary(user_id)
