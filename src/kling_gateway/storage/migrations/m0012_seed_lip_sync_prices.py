"""Seeds Kling's list prices for the families served since migration 0010: video extension,
lip-sync, identify face, advanced lip-sync and video to audio.

Only keys the table lacks are inserted: a price an operator set stays as it is.
"""

from __future__ import annotations

from peewee import Database

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.seed_prices import lip_sync_and_video_tools_list
from kling_gateway.storage import prices


def apply(db: Database) -> None:
    prices.insert_missing(lip_sync_and_video_tools_list(), now_ms())
