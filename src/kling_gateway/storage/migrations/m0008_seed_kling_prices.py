"""Seeds Kling's list prices for every model, mode and option the brief's 41 prices leave out.

Only keys the table lacks are inserted: the brief's prices and every price an operator set stay
as they are.
"""

from __future__ import annotations

from peewee import Database

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.seed_prices import first_kling_list
from kling_gateway.storage.models import Price


def apply(db: Database) -> None:
    now = now_ms()
    rows = [{"key": key, "amount": amount, "updated_at": now}
            for key, amount in first_kling_list().items()]
    Price.insert_many(rows).on_conflict_ignore().execute()
