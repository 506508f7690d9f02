"""Seeds the price table with the defaults of the product brief (whole CNY → 1/10000 CNY)."""

from __future__ import annotations

from peewee import Database

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.money import UNITS_PER_CNY
from kling_gateway.domain.pricing import default_prices
from kling_gateway.storage.models import Price


def apply(db: Database) -> None:
    now = now_ms()
    rows = [{"key": key, "amount": cny * UNITS_PER_CNY, "updated_at": now}
            for key, cny in default_prices().items()]
    Price.insert_many(rows).on_conflict_ignore().execute()
