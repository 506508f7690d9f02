"""What a request costs and charging it: price lookup, token allow-list, debit and refund."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kling_gateway import logs, metrics
from kling_gateway.domain import families
from kling_gateway.domain.errors import PermissionDenied
from kling_gateway.domain.money import format_cny
from kling_gateway.domain.pricing import (
    PriceKey,
    PriceQuote,
    price_quote,
    seconds_made,
    settled_amount,
)
from kling_gateway.services import source_videos
from kling_gateway.services.auth import Caller
from kling_gateway.storage import ledger
from kling_gateway.storage import prices as price_store
from kling_gateway.storage.records import LedgerRecord, TaskRow


@dataclass(frozen=True)
class Bill:
    quote: PriceQuote
    priced: PriceKey
    """The quote's key that the table priced (its first if none was)."""
    unit_price: int
    total: int

    @property
    def key(self) -> str:
        return str(self.priced)


def bill_for(operation: str, body: dict[str, Any], caller: Caller) -> Bill:
    """The price of a validated request for this caller; 1103 when it may not be bought. The
    table is read at every call, so a price set by any process counts at once."""
    quote = price_quote(operation, body, source_videos.source_of(caller, operation, body))
    if (caller.allowed_models is not None and quote.model_name is not None
            and quote.model_name not in caller.allowed_models):
        raise PermissionDenied(f"model {quote.model_name} is not allowed for this token")
    keys = [str(key) for key in quote.keys]
    amounts = price_store.amounts_of(keys[0], keys[-1])
    for key, text in zip(quote.keys, keys, strict=True):
        if text in amounts:
            return Bill(quote, key, amounts[text], amounts[text] * quote.quantity(key))
    if quote.free_without_price:
        return Bill(quote, quote.keys[0], unit_price=0, total=0)
    raise PermissionDenied(quote.unpriced_message())


def charge(caller: Caller, bill: Bill, *, task_id: str | None = None) -> LedgerRecord | None:
    """Debit the bill (1102 when short); nothing is written for a free operation."""
    logs.note(price_key=bill.key, amount=format_cny(bill.total))
    if bill.total == 0:
        return None
    entry = ledger.debit(caller.user_id, bill.total, token_id=caller.token_id, task_id=task_id,
                         price_key=bill.key)
    metrics.charged(bill.total, task_id=task_id)
    return entry


def refund(charge_id: int, reason: str = "", amount: int | None = None) -> bool:
    """Give a charge back (``amount`` of it: all by default); True if this call refunded it,
    False if it was refunded before."""
    entry = ledger.refund(charge_id, note=reason, amount=amount)
    if entry is not None:
        metrics.refunded(entry.amount, task_id=entry.task_id)
    return entry is not None


def settle(task: TaskRow, result: dict[str, Any]) -> int | None:
    """For a family charged for the longest output it may make (``Pricing.longest``): give
    back what the finished task's output did not use. The task's final amount, or None when
    nothing changed."""
    pricing = families.named(task.family).pricing
    made = seconds_made(result)
    if pricing.longest is None or made is None or not task.amount or not task.duration:
        return None
    final = settled_amount(task.amount, int(task.duration), made)
    charge = ledger.charge_of(task.id)
    if final >= task.amount or charge is None:
        return None
    refund(charge.id, f"settled: {made} s made of {task.duration} s charged",
           amount=task.amount - final)
    return final
