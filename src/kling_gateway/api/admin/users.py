"""Handlers of the ``users`` tag."""

from __future__ import annotations

from typing import Any

from kling_gateway.domain.money import parse_cny
from kling_gateway.services import accounts
from kling_gateway.services.views import ledger_entry_view, user_view
from kling_gateway.web.envelope import ok

Answer = dict[str, Any]


def create_user(body: dict[str, Any]) -> Answer:
    balance = parse_cny(body.get("balance", "0"), field="balance")
    return ok(user_view(accounts.create_user(body["name"], balance)))


def list_users(page_num: int = 1, page_size: int = 30) -> Answer:
    return ok([user_view(user) for user in accounts.list_users(page_num, page_size)])


def get_user(name: str) -> Answer:
    return ok(user_view(accounts.find_user(name)))


def disable_user(name: str) -> Answer:
    return ok(user_view(accounts.set_disabled(name, True)))


def enable_user(name: str) -> Answer:
    return ok(user_view(accounts.set_disabled(name, False)))


def top_up(name: str, body: dict[str, Any]) -> Answer:
    amount = parse_cny(body["amount"])
    return ok(ledger_entry_view(accounts.top_up(name, amount, note=body.get("note", ""))))


def adjust_balance(name: str, body: dict[str, Any]) -> Answer:
    amount = parse_cny(body["amount"], allow_negative=True)
    return ok(ledger_entry_view(accounts.adjust(name, amount, note=body["note"])))
