"""Seeds Kling's list prices for every model, mode and option the brief's 41 prices leave out.

Only keys the table lacks are inserted: the brief's prices and every price an operator set stay
as they are.
"""

from __future__ import annotations

from peewee import Database

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.seed_prices import first_kling_list
from kling_gateway.storage import prices


def apply(db: Database) -> None:
    prices.insert_missing(first_kling_list(), now_ms())
