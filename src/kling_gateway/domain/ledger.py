"""What a ledger entry can be. Every balance change is exactly one entry of one of these kinds."""

from __future__ import annotations

from enum import StrEnum


class EntryKind(StrEnum):
    TOPUP = "topup"
    CHARGE = "charge"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"
