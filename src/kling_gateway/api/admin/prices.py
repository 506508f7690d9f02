"""Handlers of the ``prices`` tag."""

from __future__ import annotations

import json
from typing import Any

from kling_gateway.domain.errors import InvalidRequest
from kling_gateway.domain.money import parse_cny
from kling_gateway.domain.pricing import canonical_price_key
from kling_gateway.services import prices
from kling_gateway.services.views import price_view
from kling_gateway.web.envelope import ok

Answer = dict[str, Any]


def list_prices() -> Answer:
    return ok([prices.listed_price_view(price) for price in prices.list_prices()])


def set_price(key: str, body: dict[str, Any]) -> Answer:
    return ok(price_view(prices.set_price(key, parse_cny(body["price"], field="price"))))


def delete_price(key: str) -> Answer:
    prices.delete_price(key)
    return ok({"key": canonical_price_key(key), "deleted": True})


def import_prices(body: bytes | str | dict[str, Any] | list[Any]) -> Answer:
    """Connexion hands over a JSON body parsed (and validated), a ``text/csv`` body as the raw
    bytes, and an empty CSV body as the spec's default ``""``."""
    return ok({"imported": prices.import_prices(_price_file_text(body))})


def _price_file_text(body: bytes | str | dict[str, Any] | list[Any]) -> str:
    if isinstance(body, str):
        return body
    if isinstance(body, bytes):
        try:
            return body.decode("utf-8-sig")  # spreadsheets often start a CSV with a BOM
        except UnicodeDecodeError as exc:
            raise InvalidRequest(f"the CSV price file is not UTF-8: {exc}") from exc
    return json.dumps(body)
