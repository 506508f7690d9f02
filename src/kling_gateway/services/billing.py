"""What a request costs and charging it: price lookup, token allow-list, debit and refund."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kling_gateway import logs, metrics
from kling_gateway.domain.errors import PermissionDenied
from kling_gateway.domain.money import format_cny
from kling_gateway.domain.pricing import PriceQuote, price_quote
from kling_gateway.services.auth import Caller
from kling_gateway.storage import ledger
from kling_gateway.storage.models import LedgerEntry, Price
from kling_gateway.storage.prepared import PreparedQuery

_PRICE = PreparedQuery(Price, lambda key: Price.select().where(Price.key == key))


@dataclass(frozen=True)
class Bill:
    quote: PriceQuote
    unit_price: int
    total: int


def bill_for(operation: str, body: dict[str, Any], caller: Caller) -> Bill:
    """The price of a validated request for this caller; 1103 when it may not be bought."""
    quote = price_quote(operation, body)
    if (caller.allowed_models is not None and quote.model_name is not None
            and quote.model_name not in caller.allowed_models):
        raise PermissionDenied(f"model {quote.model_name} is not allowed for this token")
    price = _PRICE.first(quote.key)
    if price is None:
        if quote.free_without_price:
            return Bill(quote=quote, unit_price=0, total=0)
        raise PermissionDenied(f"model {quote.key} is not enabled on this gateway")
    return Bill(quote=quote, unit_price=price.amount, total=price.amount * quote.quantity)


def charge(caller: Caller, bill: Bill, *, task_id: str | None = None) -> LedgerEntry | None:
    """Debit the bill (1102 when short); nothing is written for a free operation."""
    logs.note(price_key=bill.quote.key, amount=format_cny(bill.total))
    if bill.total == 0:
        return None
    entry = ledger.debit(caller.user_id, bill.total, token_id=caller.token_id, task_id=task_id,
                         price_key=bill.quote.key)
    metrics.charged(bill.total, task_id=task_id)
    return entry


def refund(charge_id: int, reason: str = "") -> bool:
    """Give a charge back; True if this call refunded it, False if it was refunded before."""
    entry = ledger.refund(charge_id, note=reason)
    if entry is not None:
        metrics.refunded(entry.amount, task_id=entry.task_id)
    return entry is not None
