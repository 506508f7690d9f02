"""Seeds the price table with the defaults of the product brief (1/10000 CNY)."""

from __future__ import annotations

from peewee import Database

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.seed_prices import brief_prices
from kling_gateway.storage import prices


def apply(db: Database) -> None:
    prices.insert_missing(brief_prices(), now_ms())
