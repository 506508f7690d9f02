"""Seeds Kling's list prices for the task families served since migration 0008: omni video,
omni image, effects, virtual try-on, image expansion and text to audio.

Only keys the table lacks are inserted: a price an operator set stays as it is.
"""

from __future__ import annotations

from peewee import Database

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.seed_prices import more_families_list
from kling_gateway.storage import prices


def apply(db: Database) -> None:
    prices.insert_missing(more_families_list(), now_ms())
