"""What every admin command shares: its output, the parser helpers, running it, rendering."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kling_gateway.config import Settings
from kling_gateway.domain.errors import KlingError
from kling_gateway.storage.db import open_database
from kling_gateway.storage.encryption import IN_CLEAR_WARNING, configure_keyring
from kling_gateway.storage.errors import DatabaseFailure
from kling_gateway.storage.migrations import migrate


@dataclass(frozen=True)
class Output:
    data: Any
    """The JSON view printed with ``--json``."""
    text: str
    """The human-readable rendering printed otherwise."""


Handler = Callable[[argparse.Namespace], Output]


# ---- parsers --------------------------------------------------------------------------------


def group(groups: argparse._SubParsersAction, name: str,
          help_text: str) -> argparse._SubParsersAction:
    parser = groups.add_parser(name, help=help_text)
    return parser.add_subparsers(dest="action", required=True)


def command(actions: argparse._SubParsersAction, name: str, handler: Handler,
            common: argparse.ArgumentParser, help_text: str, *,
            stores_secrets: bool = False) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, parents=[common], help=help_text)
    parser.set_defaults(run=runner(handler, migrate_first=True, stores_secrets=stores_secrets))
    return parser


def add_paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--page", type=positive_int, default=1)
    parser.add_argument("--page-size", type=positive_int, default=30)


def positive_int(text: str) -> int:
    return _whole_number(text, 1, "must be at least 1")


def non_negative_int(text: str) -> int:
    return _whole_number(text, 0, "must not be negative")


def _whole_number(text: str, least: int, rule: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"{text!r} {rule}")
    return value


# ---- running --------------------------------------------------------------------------------


def runner(handler: Handler, *, migrate_first: bool = False,
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
    except DatabaseFailure as exc:
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


def when(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers], *[["-" if c is None else str(c) for c in r]
                                         for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                     for row in cells)
