"""``kling-gateway admin channel …``: the upstream Kling accounts."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kling_gateway.cli.admin.base import (
    Output,
    command,
    non_negative_int,
    positive_int,
    table,
    when,
)
from kling_gateway.domain.errors import InvalidParameter
from kling_gateway.services import channels, views


def add_parsers(actions: argparse._SubParsersAction,
                common: argparse.ArgumentParser) -> None:
    _channel_options(command(actions, "add", _channel_add, common,
                             "add an upstream Kling account", stores_secrets=True), adding=True)
    command(actions, "list", _channel_list, common, "list channels, highest priority first")
    command(actions, "show", _channel_show, common, "show a channel").add_argument("name")
    _channel_options(command(actions, "update", _channel_update, common,
                             "change a channel, e.g. rotate its keys", stores_secrets=True),
                     adding=False)
    command(actions, "disable", _channel_disable, common,
            "stop forwarding requests to a channel").add_argument("name")
    command(actions, "enable", _channel_enable, common,
            "forward requests to a channel again, putting it back in rotation if Kling had "
            "refused its keys or account").add_argument("name")


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
    parser.add_argument("--weight", type=non_negative_int, metavar="N",
                        help="share within a priority" + (" (default 1)" if adding else ""))
    models = parser.add_mutually_exclusive_group() if not adding else parser
    models.add_argument("--model", dest="models", action="extend", nargs="+", metavar="MODEL",
                        help="a model the channel serves (default: every model)" if adding
                        else "replace the models the channel serves")
    limit = parser.add_mutually_exclusive_group() if not adding else parser
    limit.add_argument("--max-concurrency", type=positive_int, metavar="N",
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
        line += (f"  out of rotation since {when(out['since'])} UTC (Kling {out['code']}: "
                 f"{out['reason']}; last checked {when(out['last_checked_at'])})")
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
    return Output(listed, table(headers, rows))


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
