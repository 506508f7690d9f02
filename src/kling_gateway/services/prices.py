"""The price table: set, delete, list and import (CSV or JSON).

Setting a price refuses a key no request can produce (``pricing.parse_price_key``); the list
says what each key sells. Nothing is cached: billing reads the table at every request."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.errors import InvalidParameter, InvalidRequest, ResourceNotFound
from kling_gateway.domain.money import parse_cny
from kling_gateway.domain.pricing import canonical_price_key, describe_price_key, parse_price_key
from kling_gateway.domain.strict_json import parse_json
from kling_gateway.services.views import price_view
from kling_gateway.storage import prices as price_store
from kling_gateway.storage.db import write_transaction
from kling_gateway.storage.records import PriceRecord

MAX_KEY_LENGTH = price_store.MAX_KEY_LENGTH
_KEY_CHARACTERS = re.compile("[^/\x00-\x1f\x7f-\x9f\u2028\u2029]+")
"""The spec's rule for ``/prices/{key}``, for keys that arrive in a price file instead."""


def list_prices() -> list[PriceRecord]:
    return price_store.all_by_key()


def listed_price_view(price: PriceRecord) -> dict[str, Any]:
    """A price as the list shows it: its key, amount and what the key sells."""
    sells = describe_price_key(price.key)
    return {**price_view(price), "families": list(sells.families), "model": sells.model,
            "mode": sells.mode, "seconds": sells.seconds, "options": list(sells.options),
            "per": None if sells.per is None else sells.per.value, "note": sells.note}


def checked_key(key: str) -> str:
    """``key`` in canonical form; 1201 when it is malformed or no request can produce it."""
    key = canonical_price_key(key)
    if not key or len(key) > MAX_KEY_LENGTH or not _KEY_CHARACTERS.fullmatch(key):
        raise InvalidParameter(
            f"invalid parameter 'key': a price key has 1 to {MAX_KEY_LENGTH} characters, none "
            "of them '/' or a control character")
    parse_price_key(key)
    return key


def set_price(key: str, amount: int) -> PriceRecord:
    key = checked_key(key)
    if amount < 0:
        raise InvalidParameter(f"invalid parameter '{key}': a price must not be negative")
    return price_store.set_amount(key, amount, now_ms())


def delete_price(key: str) -> None:
    if not price_store.delete(canonical_price_key(key)):
        raise ResourceNotFound(f"no price '{key}'")


def parse_price_file(text: str) -> dict[str, int]:
    """``{"key": "5.00", …}``, ``[{"key": …, "price": …}]`` or CSV with ``key,price`` columns."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data: Any = parse_json(text)
        except InvalidRequest as exc:
            raise InvalidParameter(f"the price file {exc.message.removeprefix('request body ')}"
                                   ) from exc
        rows = data.items() if isinstance(data, dict) else [_json_row(row) for row in data]
    else:
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or not {"key", "price"} <= set(reader.fieldnames):
            raise InvalidParameter("a CSV price file needs the columns 'key' and 'price'")
        rows = ((row["key"], row["price"]) for row in reader)
    prices: dict[str, int] = {}
    for key, price in rows:
        if isinstance(key, str) and canonical_price_key(key) in prices:
            raise InvalidParameter(f"the price file sets '{key}' twice")
        if not isinstance(key, str) or not key.strip() or price is None:
            raise InvalidParameter(f"a price row needs a key and a price, got {key!r}: {price!r}")
        prices[checked_key(key)] = parse_cny(price, field=key)
    if not prices:
        raise InvalidParameter("the price file holds no prices")
    return prices


def _json_row(row: Any) -> tuple[Any, Any]:
    if not isinstance(row, dict):
        raise InvalidParameter(f"a JSON price list holds objects with 'key' and 'price', "
                               f"got {row!r}")
    return row.get("key"), row.get("price")


def import_prices(text: str) -> int:
    """Sets every price of the file in one transaction; returns how many were set."""
    prices = parse_price_file(text)
    with write_transaction():
        for key, amount in prices.items():
            set_price(key, amount)
    return len(prices)
