"""``kling-gateway admin price …``: the price table."""

from __future__ import annotations

import argparse
from pathlib import Path

from kling_gateway.cli.admin.base import Output, command, table
from kling_gateway.domain.money import parse_cny
from kling_gateway.domain.pricing import canonical_price_key, describe_price_key
from kling_gateway.services import prices, views


def add_parsers(actions: argparse._SubParsersAction,
                common: argparse.ArgumentParser) -> None:
    set_parser = command(actions, "set", _price_set, common, "set a price")
    set_parser.add_argument("key")
    set_parser.add_argument("amount", metavar="CNY")
    command(actions, "delete", _price_delete, common, "delete a price").add_argument("key")
    command(actions, "list", _price_list, common, "list the price table")
    command(actions, "import", _price_import, common,
            "set prices from a CSV (key,price) or JSON file").add_argument("file", type=Path)


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
    listed = [prices.listed_price_view(p) for p in prices.list_prices()]
    ordered = sorted(listed, key=lambda p: (not p["families"], p["families"], p["model"] or "",
                                            p["mode"] or "", p["per"] or "", p["options"],
                                            p["seconds"] or 0))
    rows = [(",".join(p["families"]) or None, p["model"], p["mode"], p["seconds"],
             ",".join(p["options"]) or None, p["price"], p["per"], p["key"], p["note"])
            for p in ordered]
    headers = ("FAMILY", "MODEL", "MODE", "SECONDS", "OPTIONS", "CNY", "PER", "KEY", "NOTE")
    return Output(listed, table(headers, rows))


def _price_import(args: argparse.Namespace) -> Output:
    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SystemExit(f"error: cannot read {args.file}: {exc}") from None
    count = prices.import_prices(text)
    return Output({"imported": count}, f"imported {count} prices from {args.file}")
