"""Seeds Kling's list prices for avatar (per second of output, in the mode asked).

Only keys the table lacks are inserted: a price an operator set stays as it is.
"""

from __future__ import annotations

from peewee import Database

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.seed_prices import avatar_list
from kling_gateway.storage import prices


def apply(db: Database) -> None:
    prices.insert_missing(avatar_list(), now_ms())
