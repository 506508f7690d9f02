"""``kling-gateway migrate`` and ``kling-gateway admin …``: the admin API's operations from a shell.

Every command opens ``KLING_GATEWAY_DATABASE_URL``, migrates, and calls the same services as the
admin API; ``--json`` prints the same views the admin API answers with.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from peewee import DatabaseError

from kling_gateway.config import Settings
from kling_gateway.domain.errors import InvalidParameter, KlingError
from kling_gateway.domain.money import parse_cny
from kling_gateway.domain.pricing import canonical_price_key, describe_price_key
from kling_gateway.services import accounts, channels, prices, views
from kling_gateway.storage.db import open_database
from kling_gateway.storage.encryption import IN_CLEAR_WARNING, configure_keyring, rotate_secrets
from kling_gateway.storage.migrations import migrate


@dataclass(frozen=True)
class Output:
    data: Any
    """The JSON view printed with ``--json``."""
    text: str
    """The human-readable rendering printed otherwise."""


Handler = Callable[[argparse.Namespace], Output]


# ---- parsers --------------------------------------------------------------------------------


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Adds ``migrate`` and ``admin`` to the top-level subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the JSON view")
    migrate_parser = commands.add_parser(
        "migrate", parents=[common], help="apply the database migrations",
        description="Open KLING_GATEWAY_DATABASE_URL and apply the migrations it lacks.")
    migrate_parser.set_defaults(run=_runner(_migrate))
    admin = commands.add_parser(
        "admin", help="manage users, tokens, prices, channels and the ledger",
        description="Opens KLING_GATEWAY_DATABASE_URL (migrating it first) and calls the "
                    "admin services directly; every command takes --json.")
    groups = admin.add_subparsers(dest="group", required=True)
    _user_parsers(_group(groups, "user", "users and their balances"), common)
    _token_parsers(_group(groups, "token", "API tokens"), common)
    _price_parsers(_group(groups, "price", "the price table"), common)
    _channel_parsers(_group(groups, "channel", "upstream Kling accounts"), common)
    ledger = groups.add_parser("ledger", parents=[common], help="a user's ledger, newest first")
    ledger.add_argument("name")
    _add_paging(ledger)
    ledger.set_defaults(run=_runner(_ledger, migrate_first=True))
    rotate = groups.add_parser(
        "rotate-secret-key", parents=[common],
        help="re-encrypt every stored secret key with KLING_GATEWAY_SECRET_KEY",
        description="Re-encrypt channel and token secret keys with KLING_GATEWAY_SECRET_KEY, "
                    "reading values written under KLING_GATEWAY_OLD_SECRET_KEYS "
                    "(comma-separated) or in clear; values already under the current key are "
                    "left alone, so running it again changes nothing.")
    rotate.set_defaults(run=_runner(_rotate_secret_key, migrate_first=True))


def _group(groups: argparse._SubParsersAction, name: str,
           help_text: str) -> argparse._SubParsersAction:
    parser = groups.add_parser(name, help=help_text)
    return parser.add_subparsers(dest="action", required=True)


def _command(actions: argparse._SubParsersAction, name: str, handler: Handler,
             common: argparse.ArgumentParser, help_text: str, *,
             stores_secrets: bool = False) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, parents=[common], help=help_text)
    parser.set_defaults(run=_runner(handler, migrate_first=True, stores_secrets=stores_secrets))
    return parser


def _add_paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--page", type=_positive_int, default=1)
    parser.add_argument("--page-size", type=_positive_int, default=30)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _user_parsers(actions: argparse._SubParsersAction,
                  common: argparse.ArgumentParser) -> None:
    create = _command(actions, "create", _user_create, common, "create a user")
    create.add_argument("name")
    create.add_argument("--balance", metavar="CNY", help="opening balance (default 0)")
    _add_paging(_command(actions, "list", _user_list, common, "list users"))
    _command(actions, "show", _user_show, common, "show a user").add_argument("name")
    topup = _command(actions, "topup", _user_topup, common, "add money to a user's balance")
    topup.add_argument("name")
    topup.add_argument("amount", metavar="CNY")
    topup.add_argument("--note", default="")
    adjust = _command(actions, "adjust", _user_adjust, common,
                      "correct a balance by a positive or negative amount")
    adjust.add_argument("name")
    adjust.add_argument("amount", metavar="CNY", help="may be negative, e.g. -5")
    adjust.add_argument("--note", required=True)
    _command(actions, "disable", _user_disable, common, "refuse the user's calls").add_argument(
        "name")
    _command(actions, "enable", _user_enable, common, "accept the user's calls").add_argument(
        "name")


def _token_parsers(actions: argparse._SubParsersAction,
                   common: argparse.ArgumentParser) -> None:
    create = _command(actions, "create", _token_create, common,
                      "issue a token (its keys are shown only this once)", stores_secrets=True)
    create.add_argument("user", metavar="NAME")
    create.add_argument("--name", default="default", metavar="TOKEN_NAME")
    create.add_argument("--spend-limit", metavar="CNY")
    create.add_argument("--expires-at", type=int, metavar="UNIX_MS")
    create.add_argument("--model", dest="models", action="extend", nargs="+", default=[],
                        metavar="MODEL", help="allowed model (default: every model)")
    _command(actions, "list", _token_list, common, "list a user's tokens").add_argument(
        "user", metavar="NAME")
    revoke = _command(actions, "revoke", _token_revoke, common, "revoke a token")
    revoke.add_argument("token_id", type=int)


def _price_parsers(actions: argparse._SubParsersAction,
                   common: argparse.ArgumentParser) -> None:
    set_parser = _command(actions, "set", _price_set, common, "set a price")
    set_parser.add_argument("key")
    set_parser.add_argument("amount", metavar="CNY")
    _command(actions, "delete", _price_delete, common, "delete a price").add_argument("key")
    _command(actions, "list", _price_list, common, "list the price table")
    _command(actions, "import", _price_import, common,
             "set prices from a CSV (key,price) or JSON file").add_argument("file", type=Path)


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def _channel_options(parser: argparse.ArgumentParser, *, adding: bool) -> None:
    """The options ``channel add`` and ``channel update`` share; only ``add`` requires keys."""
    parser.add_argument("name")
    parser.add_argument("--access-key", required=adding, metavar="AK")
    parser.add_argument("--secret-key", required=adding, metavar="SK",
                        help="the secret key, or - to read it from the first line of stdin "
                             "(kept out of the process list); never printed")
    parser.add_argument("--base-url", metavar="URL",
                        help=f"default {channels.OFFICIAL_BASE_URL}" if adding else None)
    parser.add_argument("--priority", type=int, metavar="N",
                        help="higher is tried first" + (" (default 0)" if adding else ""))
    parser.add_argument("--weight", type=_non_negative_int, metavar="N",
                        help="share within a priority" + (" (default 1)" if adding else ""))
    models = parser.add_mutually_exclusive_group() if not adding else parser
    models.add_argument("--model", dest="models", action="extend", nargs="+", metavar="MODEL",
                        help="a model the channel serves (default: every model)" if adding
                        else "replace the models the channel serves")
    limit = parser.add_mutually_exclusive_group() if not adding else parser
    limit.add_argument("--max-concurrency", type=_positive_int, metavar="N",
                       help="most unfinished tasks at once"
                       + (" (default: no limit)" if adding else ""))
    if adding:
        parser.add_argument("--disabled", action="store_true", help="add it disabled")
        return
    models.add_argument("--clear-models", action="store_true", help="serve every model")
    limit.add_argument("--clear-max-concurrency", action="store_true", help="lift the limit")
    state = parser.add_mutually_exclusive_group()
    state.add_argument("--enable", dest="enabled", action="store_const", const=True)
    state.add_argument("--disable", dest="enabled", action="store_const", const=False)


def _channel_parsers(actions: argparse._SubParsersAction,
                     common: argparse.ArgumentParser) -> None:
    _channel_options(_command(actions, "add", _channel_add, common,
                              "add an upstream Kling account", stores_secrets=True), adding=True)
    _command(actions, "list", _channel_list, common, "list channels, highest priority first")
    _command(actions, "show", _channel_show, common, "show a channel").add_argument("name")
    _channel_options(_command(actions, "update", _channel_update, common,
                              "change a channel, e.g. rotate its keys", stores_secrets=True),
                     adding=False)
    _command(actions, "disable", _channel_disable, common,
             "stop forwarding requests to a channel").add_argument("name")
    _command(actions, "enable", _channel_enable, common,
             "forward requests to a channel again, putting it back in rotation if Kling had "
             "refused its keys or account").add_argument("name")


# ---- running --------------------------------------------------------------------------------


def _runner(handler: Handler, *, migrate_first: bool = False,
            stores_secrets: bool = False) -> Callable[[argparse.Namespace], int]:
    """The ``run`` callback of a command: open the database, call ``handler``, print."""
    def run(args: argparse.Namespace) -> int:
        return _run(handler, args, migrate_first=migrate_first, stores_secrets=stores_secrets)
    return run


def _run(handler: Handler, args: argparse.Namespace, *, migrate_first: bool,
         stores_secrets: bool) -> int:
    db = None
    try:
        settings = Settings.from_env()
        keyring = configure_keyring(settings, quiet=True)
        db = open_database(settings.database_url)
        if migrate_first:
            migrate()
        output = handler(args)
    except KlingError as exc:
        print(f"error {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except DatabaseError as exc:
        print(f"error: database: {exc}".rstrip(), file=sys.stderr)
        return 1
    finally:
        if db is not None:
            db.close()
    print(json.dumps(output.data, indent=2) if args.json else output.text)
    if stores_secrets and not keyring.key_id:  # stdout stays the answer; the warning is aside
        print(f"warning: {IN_CLEAR_WARNING}", file=sys.stderr)
    return 0


# ---- rendering ------------------------------------------------------------------------------


def _when(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers], *[["-" if c is None else str(c) for c in r]
                                         for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                     for row in cells)


def _user_line(view: dict[str, Any]) -> str:
    state = "disabled" if view["disabled"] else "enabled"
    return (f"{view['name']}  balance {view['balance']} CNY  {state}  "
            f"created {_when(view['created_at'])}")


def _entry_line(name: str, view: dict[str, Any]) -> str:
    return (f"{view['kind']} {view['amount']} CNY for {name}: "
            f"balance {view['balance_after']} CNY (entry {view['id']})")


# ---- secret key rotation --------------------------------------------------------------------


def _rotate_secret_key(args: argparse.Namespace) -> Output:
    done = rotate_secrets()
    view = {"reencrypted": done.reencrypted, "already_current": done.current,
            "key_id": done.key_id}
    return Output(view, f"re-encrypted {done.reencrypted} secret values with key {done.key_id} "
                        f"({done.current} already current)")


# ---- migrate --------------------------------------------------------------------------------


def _migrate(args: argparse.Namespace) -> Output:
    applied = migrate()
    text = ("applied " + ", ".join(applied)) if applied else "the schema is current"
    return Output({"applied": applied}, text)


# ---- users ----------------------------------------------------------------------------------


def _user_create(args: argparse.Namespace) -> Output:
    balance = parse_cny(args.balance, field="balance") if args.balance is not None else 0
    view = views.user_view(accounts.create_user(args.name, balance))
    return Output(view, "created user " + _user_line(view))


def _user_list(args: argparse.Namespace) -> Output:
    users = [views.user_view(u) for u in accounts.list_users(args.page, args.page_size)]
    rows = [(u["name"], u["balance"], "disabled" if u["disabled"] else "enabled",
             _when(u["created_at"])) for u in users]
    return Output(users, _table(("NAME", "BALANCE", "STATE", "CREATED"), rows))


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


# ---- tokens ---------------------------------------------------------------------------------


def _token_create(args: argparse.Namespace) -> Output:
    limit = None if args.spend_limit is None else parse_cny(args.spend_limit,
                                                            field="spend_limit")
    issued = accounts.create_token(args.user, args.name, spend_limit=limit,
                                   expires_at=args.expires_at, allowed_models=args.models)
    view = views.issued_token_view(issued)
    text = "\n".join((
        f"token {view['id']} '{view['name']}' for {args.user} "
        "(the keys are shown only this once):",
        f"  api_key     {view['api_key']}",
        f"  access_key  {view['access_key']}",
        f"  secret_key  {view['secret_key']}"))
    return Output(view, text)


def _token_row(view: dict[str, Any]) -> tuple[Any, ...]:
    return (view["id"], view["name"], view["api_key"], view["access_key"], view["spent"],
            view["spend_limit"], _when(view["expires_at"]),
            ",".join(view["allowed_models"] or ["*"]),
            "revoked" if view["revoked"] else "active")


def _token_list(args: argparse.Namespace) -> Output:
    tokens = [views.token_view(t) for t in accounts.list_tokens(args.user)]
    headers = ("ID", "NAME", "API_KEY", "ACCESS_KEY", "SPENT", "LIMIT", "EXPIRES", "MODELS",
               "STATE")
    return Output(tokens, _table(headers, [_token_row(t) for t in tokens]))


def _token_revoke(args: argparse.Namespace) -> Output:
    view = views.token_view(accounts.revoke_token(args.token_id))
    return Output(view, f"revoked token {view['id']} '{view['name']}' ({view['api_key']})")


# ---- prices ---------------------------------------------------------------------------------


def _price_set(args: argparse.Namespace) -> Output:
    view = views.price_view(prices.set_price(args.key, parse_cny(args.amount, field="price")))
    per = describe_price_key(view["key"]).per
    return Output(view, f"{view['key']} = {view['price']} CNY per {per}")


def _price_delete(args: argparse.Namespace) -> Output:
    prices.delete_price(args.key)
    key = canonical_price_key(args.key)
    return Output({"key": key, "deleted": True}, f"deleted price {key}")


def _price_list(args: argparse.Namespace) -> Output:
    """What is sold, grouped by family and model; keys no request produces come last."""
    table = [prices.listed_price_view(p) for p in prices.list_prices()]
    ordered = sorted(table, key=lambda p: (not p["families"], p["families"], p["model"] or "",
                                           p["mode"] or "", p["per"] or "", p["options"],
                                           p["seconds"] or 0))
    rows = [(",".join(p["families"]) or None, p["model"], p["mode"], p["seconds"],
             ",".join(p["options"]) or None, p["price"], p["per"], p["key"], p["note"])
            for p in ordered]
    headers = ("FAMILY", "MODEL", "MODE", "SECONDS", "OPTIONS", "CNY", "PER", "KEY", "NOTE")
    return Output(table, _table(headers, rows))


def _price_import(args: argparse.Namespace) -> Output:
    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SystemExit(f"error: cannot read {args.file}: {exc}") from None
    count = prices.import_prices(text)
    return Output({"imported": count}, f"imported {count} prices from {args.file}")


# ---- channels -------------------------------------------------------------------------------


def _secret_key(value: str) -> str:
    """``--secret-key -`` reads the key from stdin, so that it stays out of ``ps`` output."""
    return sys.stdin.readline().strip() if value == "-" else value


def _channel_line(view: dict[str, Any]) -> str:
    models = ",".join(view["allowed_models"] or ["*"])
    limit = view["max_concurrency"] or "-"
    state = "enabled" if view["enabled"] else "disabled"
    line = (f"{view['name']}  {view['base_url']}  access_key {view['access_key']}  "
            f"priority {view['priority']}  weight {view['weight']}  models {models}  "
            f"max_concurrency {limit}  {state}")
    out = view["out_of_rotation"]
    if out:
        line += (f"  out of rotation since {_when(out['since'])} UTC (Kling {out['code']}: "
                 f"{out['reason']}; last checked {_when(out['last_checked_at'])})")
    return line


def _channel_state(view: dict[str, Any]) -> str:
    if not view["enabled"]:
        return "disabled"
    return "out-of-rotation" if view["out_of_rotation"] else "enabled"


def _channel_add(args: argparse.Namespace) -> Output:
    channel = channels.add_channel(
        args.name, access_key=args.access_key, secret_key=_secret_key(args.secret_key),
        base_url=args.base_url or channels.OFFICIAL_BASE_URL,
        priority=0 if args.priority is None else args.priority,
        weight=1 if args.weight is None else args.weight, enabled=not args.disabled,
        allowed_models=args.models, max_concurrency=args.max_concurrency)
    view = views.channel_view(channel)
    return Output(view, "added channel " + _channel_line(view))


def _channel_list(args: argparse.Namespace) -> Output:
    listed = [views.channel_view(c) for c in channels.list_channels()]
    rows = [(c["name"], c["base_url"], c["access_key"], c["priority"], c["weight"],
             ",".join(c["allowed_models"] or ["*"]), c["max_concurrency"],
             _channel_state(c)) for c in listed]
    headers = ("NAME", "BASE_URL", "ACCESS_KEY", "PRIORITY", "WEIGHT", "MODELS", "MAX", "STATE")
    return Output(listed, _table(headers, rows))


def _channel_show(args: argparse.Namespace) -> Output:
    view = views.channel_view(channels.find_channel(args.name))
    return Output(view, _channel_line(view))


def _channel_changes(args: argparse.Namespace) -> dict[str, Any]:
    given = {"base_url": args.base_url, "access_key": args.access_key,
             "priority": args.priority, "weight": args.weight, "enabled": args.enabled,
             "allowed_models": args.models, "max_concurrency": args.max_concurrency}
    changes = {field: value for field, value in given.items() if value is not None}
    if args.secret_key is not None:
        changes["secret_key"] = _secret_key(args.secret_key)
    if args.clear_models:
        changes["allowed_models"] = None
    if args.clear_max_concurrency:
        changes["max_concurrency"] = None
    if not changes:
        raise InvalidParameter("nothing to update: give at least one option to change")
    return changes


def _channel_update(args: argparse.Namespace) -> Output:
    view = views.channel_view(channels.update_channel(args.name, **_channel_changes(args)))
    return Output(view, "updated channel " + _channel_line(view))


def _channel_disable(args: argparse.Namespace) -> Output:
    view = views.channel_view(channels.disable_channel(args.name))
    return Output(view, "disabled channel " + _channel_line(view))


def _channel_enable(args: argparse.Namespace) -> Output:
    view = views.channel_view(channels.update_channel(args.name, enabled=True))
    return Output(view, "enabled channel " + _channel_line(view))


# ---- ledger ---------------------------------------------------------------------------------


def _ledger(args: argparse.Namespace) -> Output:
    entries = [views.ledger_entry_view(e)
               for e in accounts.ledger_page(args.name, args.page, args.page_size)]
    rows = [(e["id"], _when(e["created_at"]), e["kind"], e["amount"], e["balance_after"],
             e["task_id"], e["note"]) for e in entries]
    headers = ("ID", "WHEN", "KIND", "AMOUNT", "BALANCE", "TASK", "NOTE")
    return Output(entries, _table(headers, rows))

