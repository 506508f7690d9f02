"""``kling-gateway admin token …``: a user's API tokens."""

from __future__ import annotations

import argparse
from typing import Any

from kling_gateway.cli.admin.base import Output, command, table, when
from kling_gateway.domain.money import parse_cny
from kling_gateway.services import accounts, views


def add_parsers(actions: argparse._SubParsersAction,
                common: argparse.ArgumentParser) -> None:
    create = command(actions, "create", _token_create, common,
                     "issue a token (its keys are shown only this once)", stores_secrets=True)
    create.add_argument("user", metavar="NAME")
    create.add_argument("--name", default="default", metavar="TOKEN_NAME")
    create.add_argument("--spend-limit", metavar="CNY")
    create.add_argument("--expires-at", type=int, metavar="UNIX_MS")
    create.add_argument("--model", dest="models", action="extend", nargs="+", default=[],
                        metavar="MODEL", help="allowed model (default: every model)")
    command(actions, "list", _token_list, common, "list a user's tokens").add_argument(
        "user", metavar="NAME")
    revoke = command(actions, "revoke", _token_revoke, common, "revoke a token")
    revoke.add_argument("token_id", type=int)


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
            view["spend_limit"], when(view["expires_at"]),
            ",".join(view["allowed_models"] or ["*"]),
            "revoked" if view["revoked"] else "active")


def _token_list(args: argparse.Namespace) -> Output:
    tokens = [views.token_view(t) for t in accounts.list_tokens(args.user)]
    headers = ("ID", "NAME", "API_KEY", "ACCESS_KEY", "SPENT", "LIMIT", "EXPIRES", "MODELS",
               "STATE")
    return Output(tokens, table(headers, [_token_row(t) for t in tokens]))


def _token_revoke(args: argparse.Namespace) -> Output:
    view = views.token_view(accounts.revoke_token(args.token_id))
    return Output(view, f"revoked token {view['id']} '{view['name']}' ({view['api_key']})")
