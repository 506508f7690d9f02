"""``kling-gateway admin user …`` and ``admin ledger``: users, their balances and ledger."""

from __future__ import annotations

import argparse
from typing import Any

from kling_gateway.cli.admin.base import Output, add_paging, command, runner, table, when
from kling_gateway.domain.money import parse_cny
from kling_gateway.services import accounts, views


def add_parsers(actions: argparse._SubParsersAction,
                common: argparse.ArgumentParser) -> None:
    create = command(actions, "create", _user_create, common, "create a user")
    create.add_argument("name")
    create.add_argument("--balance", metavar="CNY", help="opening balance (default 0)")
    add_paging(command(actions, "list", _user_list, common, "list users"))
    command(actions, "show", _user_show, common, "show a user").add_argument("name")
    topup = command(actions, "topup", _user_topup, common, "add money to a user's balance")
    topup.add_argument("name")
    topup.add_argument("amount", metavar="CNY")
    topup.add_argument("--note", default="")
    adjust = command(actions, "adjust", _user_adjust, common,
                     "correct a balance by a positive or negative amount")
    adjust.add_argument("name")
    adjust.add_argument("amount", metavar="CNY", help="may be negative, e.g. -5")
    adjust.add_argument("--note", required=True)
    command(actions, "disable", _user_disable, common, "refuse the user's calls").add_argument(
        "name")
    command(actions, "enable", _user_enable, common, "accept the user's calls").add_argument(
        "name")


def add_ledger_parser(groups: argparse._SubParsersAction,
                      common: argparse.ArgumentParser) -> None:
    ledger = groups.add_parser("ledger", parents=[common], help="a user's ledger, newest first")
    ledger.add_argument("name")
    add_paging(ledger)
    ledger.set_defaults(run=runner(_ledger, migrate_first=True))


def _user_line(view: dict[str, Any]) -> str:
    state = "disabled" if view["disabled"] else "enabled"
    return (f"{view['name']}  balance {view['balance']} CNY  {state}  "
            f"created {when(view['created_at'])}")


def _entry_line(name: str, view: dict[str, Any]) -> str:
    return (f"{view['kind']} {view['amount']} CNY for {name}: "
            f"balance {view['balance_after']} CNY (entry {view['id']})")


def _user_create(args: argparse.Namespace) -> Output:
    balance = parse_cny(args.balance, field="balance") if args.balance is not None else 0
    view = views.user_view(accounts.create_user(args.name, balance))
    return Output(view, "created user " + _user_line(view))


def _user_list(args: argparse.Namespace) -> Output:
    users = [views.user_view(u) for u in accounts.list_users(args.page, args.page_size)]
    rows = [(u["name"], u["balance"], "disabled" if u["disabled"] else "enabled",
             when(u["created_at"])) for u in users]
    return Output(users, table(("NAME", "BALANCE", "STATE", "CREATED"), rows))


def _user_show(args: argparse.Namespace) -> Output:
    view = views.user_view(accounts.find_user(args.name))
    return Output(view, _user_line(view))


def _user_topup(args: argparse.Namespace) -> Output:
    entry = accounts.top_up(args.name, parse_cny(args.amount), note=args.note)
    view = views.ledger_entry_view(entry)
    return Output(view, _entry_line(args.name, view))


def _user_adjust(args: argparse.Namespace) -> Output:
    amount = parse_cny(args.amount, allow_negative=True)
    view = views.ledger_entry_view(accounts.adjust(args.name, amount, note=args.note))
    return Output(view, _entry_line(args.name, view))


def _user_disable(args: argparse.Namespace) -> Output:
    view = views.user_view(accounts.set_disabled(args.name, True))
    return Output(view, "disabled user " + _user_line(view))


def _user_enable(args: argparse.Namespace) -> Output:
    view = views.user_view(accounts.set_disabled(args.name, False))
    return Output(view, "enabled user " + _user_line(view))


def _ledger(args: argparse.Namespace) -> Output:
    entries = [views.ledger_entry_view(e)
               for e in accounts.ledger_page(args.name, args.page, args.page_size)]
    rows = [(e["id"], when(e["created_at"]), e["kind"], e["amount"], e["balance_after"],
             e["task_id"], e["note"]) for e in entries]
    headers = ("ID", "WHEN", "KIND", "AMOUNT", "BALANCE", "TASK", "NOTE")
    return Output(entries, table(headers, rows))
