"""Money is an integer number of 1/10000 CNY everywhere; decimal strings only at the edges."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from kling_gateway.domain.errors import InvalidParameter

UNITS_PER_CNY = 10_000
MAX_UNITS = 10**15
"""100 billion CNY: far beyond any real amount, well inside a signed 64-bit column."""


def parse_cny(text: str | int | float | Decimal, *, field: str = "amount",
              allow_negative: bool = False) -> int:
    """``"12.5"`` → 125000. Refuses more than four decimals rather than rounding money."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation as exc:
        raise InvalidParameter(f"invalid parameter '{field}': {text!r} is not a number") from exc
    if not value.is_finite():
        raise InvalidParameter(f"invalid parameter '{field}': {text!r} is not a number")
    units = value * UNITS_PER_CNY
    if units != units.to_integral_value():
        raise InvalidParameter(
            f"invalid parameter '{field}': {text!r} has more than 4 decimal places")
    if abs(units) > MAX_UNITS:
        raise InvalidParameter(f"invalid parameter '{field}': {text!r} is too large")
    if units < 0 and not allow_negative:
        raise InvalidParameter(f"invalid parameter '{field}': {text!r} must not be negative")
    return int(units)


def format_cny(units: int) -> str:
    """125000 → ``"12.50"``; keeps the decimals that matter, at least two."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), UNITS_PER_CNY)
    decimals = f"{fraction:04d}".rstrip("0").ljust(2, "0")
    return f"{sign}{whole}.{decimals}"
