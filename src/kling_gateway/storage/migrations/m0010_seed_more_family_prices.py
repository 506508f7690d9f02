"""Seeds Kling's list prices for the task families served since migration 0008: omni video,
omni image, effects, virtual try-on, image expansion and text to audio.

Only keys the table lacks are inserted: a price an operator set stays as it is.
"""

from __future__ import annotations

from peewee import Database

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.seed_prices import more_families_list
from kling_gateway.storage.models import Price


def apply(db: Database) -> None:
    now = now_ms()
    rows = [{"key": key, "amount": amount, "updated_at": now}
            for key, amount in more_families_list().items()]
    Price.insert_many(rows).on_conflict_ignore().execute()
