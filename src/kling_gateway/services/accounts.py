"""Users, their API tokens and their money: what the admin API and the admin CLI both call."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from peewee import IntegrityError, fn

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.errors import InvalidParameter, ResourceNotFound
from kling_gateway.domain.ledger import EntryKind
from kling_gateway.domain.names import check_name
from kling_gateway.services.token_cache import tokens
from kling_gateway.storage import ledger
from kling_gateway.storage.db import write_transaction
from kling_gateway.storage.models import ApiToken, LedgerEntry, User

API_KEY_PREFIX = "kg-"


@dataclass(frozen=True)
class IssuedToken:
    """A new token's credentials: shown once, then only the hash and the access key remain."""

    token: ApiToken
    api_key: str
    access_key: str
    secret_key: str


def hash_api_key(api_key: str) -> str:
    # API keys are 256 random bits, so a fast hash is enough; there is nothing to brute-force.
    return hashlib.sha256(api_key.encode()).hexdigest()


def create_user(name: str, balance: int = 0) -> User:
    check_name(name)
    if balance < 0:
        raise InvalidParameter("invalid parameter 'balance': must not be negative")
    with write_transaction():
        try:
            user = User.create(name=name, balance=0, created_at=now_ms())
        except IntegrityError as exc:
            raise InvalidParameter(f"invalid parameter 'name': user '{name}' exists") from exc
        if balance:
            ledger.credit(user.id, balance, EntryKind.TOPUP, note="opening balance")
    return User.get_by_id(user.id)


def find_user(name: str) -> User:
    user = User.get_or_none(User.name == name)
    if user is None:
        raise ResourceNotFound(f"no user '{name}'")
    return user


def list_users(page_num: int = 1, page_size: int = 30) -> list[User]:
    return list(User.select().order_by(User.id).paginate(page_num, page_size))


def set_disabled(name: str, disabled: bool) -> User:
    user = find_user(name)
    User.update(disabled=disabled).where(User.id == user.id).execute()
    tokens.forget_all()
    return User.get_by_id(user.id)


def top_up(name: str, amount: int, note: str = "") -> LedgerEntry:
    if amount <= 0:
        raise InvalidParameter("invalid parameter 'amount': a top-up must be positive")
    return ledger.credit(find_user(name).id, amount, EntryKind.TOPUP, note=note)


def adjust(name: str, amount: int, note: str) -> LedgerEntry:
    if amount == 0:
        raise InvalidParameter("invalid parameter 'amount': an adjustment cannot be zero")
    return ledger.credit(find_user(name).id, amount, EntryKind.ADJUSTMENT, note=note)


def ledger_page(name: str, page_num: int = 1, page_size: int = 30) -> list[LedgerEntry]:
    user = find_user(name)
    return list(LedgerEntry.select().where(LedgerEntry.user == user.id)
                .order_by(LedgerEntry.id.desc()).paginate(page_num, page_size))


def create_token(user_name: str, token_name: str = "default", *,
                 spend_limit: int | None = None, expires_at: int | None = None,
                 allowed_models: Sequence[str] | None = None) -> IssuedToken:
    user = find_user(user_name)
    _check_token_terms(token_name, spend_limit, expires_at)
    api_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    access_key = "ak" + secrets.token_hex(15)
    secret_key = secrets.token_hex(16)
    token = ApiToken.create(
        user=user.id, name=token_name, key_hash=hash_api_key(api_key), key_hint=api_key[:7],
        access_key=access_key, secret_key=secret_key, spend_limit=spend_limit,
        expires_at=expires_at, allowed_models=list(allowed_models) if allowed_models else None,
        created_at=now_ms())
    return IssuedToken(token=token, api_key=api_key, access_key=access_key,
                       secret_key=secret_key)


def _check_token_terms(name: str, spend_limit: int | None, expires_at: int | None) -> None:
    if not name or len(name) > 100:
        raise InvalidParameter("invalid parameter 'name': a token name has 1 to 100 characters")
    if spend_limit is not None and spend_limit < 0:
        raise InvalidParameter("invalid parameter 'spend_limit': must not be negative")
    if expires_at is not None and expires_at <= now_ms():
        raise InvalidParameter("invalid parameter 'expires_at': must be in the future")


def list_tokens(user_name: str) -> list[ApiToken]:
    user = find_user(user_name)
    return list(ApiToken.select().where(ApiToken.user == user.id).order_by(ApiToken.id))


def revoke_token(token_id: int) -> ApiToken:
    if not ApiToken.update(revoked=True).where(ApiToken.id == token_id).execute():
        raise ResourceNotFound(f"no token {token_id}")
    tokens.forget_all()
    return ApiToken.get_by_id(token_id)


def summary() -> dict[str, int]:
    """Totals over every user: balances, charges net of refunds, top-ups."""
    def total(kind: EntryKind) -> int:
        return int(LedgerEntry.select(fn.COALESCE(fn.SUM(LedgerEntry.amount), 0))
                   .where(LedgerEntry.kind == kind).scalar())

    return {
        "users": User.select().count(),
        "balance": int(User.select(fn.COALESCE(fn.SUM(User.balance), 0)).scalar()),
        "spent": -(total(EntryKind.CHARGE) + total(EntryKind.REFUND)),
        "topped_up": total(EntryKind.TOPUP),
        "adjusted": total(EntryKind.ADJUSTMENT),
    }
