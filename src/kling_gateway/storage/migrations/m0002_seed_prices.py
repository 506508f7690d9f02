"""Seeds the price table with the defaults of the product brief (1/10000 CNY)."""

from __future__ import annotations

from peewee import Database

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.seed_prices import brief_prices
from kling_gateway.storage.models import Price


def apply(db: Database) -> None:
    now = now_ms()
    rows = [{"key": key, "amount": amount, "updated_at": now}
            for key, amount in brief_prices().items()]
    Price.insert_many(rows).on_conflict_ignore().execute()
