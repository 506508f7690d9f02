"""Seeds Kling's list prices for TTS, custom voices, custom elements and image recognition.

Only keys the table lacks are inserted: a price an operator set stays as it is.
"""

from __future__ import annotations

from peewee import Database

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.seed_prices import account_resources_list
from kling_gateway.storage import prices


def apply(db: Database) -> None:
    prices.insert_missing(account_resources_list(), now_ms())
