from __future__ import annotations

import pytest

from kling_gateway.domain.errors import InvalidParameter
from kling_gateway.domain.money import format_cny, parse_cny


@pytest.mark.parametrize(("text", "units"), [
    ("0", 0), ("5", 50_000), ("12.5", 125_000), ("0.0001", 1), ("1000000.9999", 10_000_009_999),
    (" 3.10 ", 31_000), (7, 70_000)])
def test_parse_cny_is_exact(text, units):
    assert parse_cny(text) == units


@pytest.mark.parametrize("text", ["0.00001", "abc", "", "NaN", "inf", "-1", "1e400"])
def test_parse_cny_refuses_what_it_cannot_store_exactly(text):
    with pytest.raises(InvalidParameter):
        parse_cny(text)


def test_negative_amounts_only_when_allowed():
    assert parse_cny("-2.5", allow_negative=True) == -25_000


@pytest.mark.parametrize(("units", "text"), [
    (0, "0.00"), (1, "0.0001"), (50_000, "5.00"), (125_000, "12.50"), (31_415, "3.1415"),
    (-25_000, "-2.50"), (10_000_009_999, "1000000.9999")])
def test_format_cny(units, text):
    assert format_cny(units) == text
    assert parse_cny(text, allow_negative=True) == units
