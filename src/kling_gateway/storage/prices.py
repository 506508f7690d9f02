"""The price table: named reads and writes, each price handed up as a ``PriceRecord``."""

from __future__ import annotations

from kling_gateway.storage.models import Price
from kling_gateway.storage.prepared import PreparedQuery
from kling_gateway.storage.records import PriceRecord

MAX_KEY_LENGTH: int = Price.key.max_length

# A quote has at most two keys (a video's exact price, then its rate): one statement reads both.
_AMOUNTS = PreparedQuery(Price, lambda first, second: Price.select(Price.key, Price.amount)
                         .where((Price.key == first) | (Price.key == second)))


def _record(price: Price) -> PriceRecord:
    return PriceRecord(key=price.key, amount=price.amount, updated_at=price.updated_at)


def amounts_of(first: str, second: str) -> dict[str, int]:
    """The amounts of the keys ``first`` and ``second`` that the table prices (billing reads
    them at every request; one prepared statement)."""
    return {price.key: price.amount for price in _AMOUNTS.rows(first, second)}


def all_by_key() -> list[PriceRecord]:
    return [_record(price) for price in Price.select().order_by(Price.key)]


def set_amount(key: str, amount: int, now: int) -> PriceRecord:
    """Insert the price or change its amount; the price as stored."""
    (Price.insert(key=key, amount=amount, updated_at=now)
     .on_conflict(conflict_target=[Price.key],
                  update={Price.amount: amount, Price.updated_at: now})
     .execute())
    return _record(Price.get_by_id(key))


def delete(key: str) -> bool:
    """Delete the price of ``key``; whether there was one."""
    return bool(Price.delete().where(Price.key == key).execute())


def insert_missing(amounts: dict[str, int], now: int) -> None:
    """Seed the table: each key it lacks gets its amount; a price already set (by an operator,
    or withdrawn by deleting it before) is not touched."""
    rows = [{"key": key, "amount": amount, "updated_at": now} for key, amount in amounts.items()]
    Price.insert_many(rows).on_conflict_ignore().execute()
