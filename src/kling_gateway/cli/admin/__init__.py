"""``kling-gateway migrate`` and ``kling-gateway admin …``: the admin API's operations from a shell.

Every command opens ``KLING_GATEWAY_DATABASE_URL``, migrates, and calls the same services as the
admin API; ``--json`` prints the same views the admin API answers with. One module per subject
(``users`` with the ledger, ``tokens``, ``prices``, ``channels``, ``upkeep``), each adding its
commands' parsers; ``base`` holds what they share.
"""

from __future__ import annotations

import argparse

from kling_gateway.cli.admin import channels, prices, tokens, upkeep, users
from kling_gateway.cli.admin.base import group


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Adds ``migrate`` and ``admin`` to the top-level subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the JSON view")
    upkeep.add_migrate_parser(commands, common)
    admin = commands.add_parser(
        "admin", help="manage users, tokens, prices, channels and the ledger",
        description="Opens KLING_GATEWAY_DATABASE_URL (migrating it first) and calls the "
                    "admin services directly; every command takes --json.")
    groups = admin.add_subparsers(dest="group", required=True)
    users.add_parsers(group(groups, "user", "users and their balances"), common)
    tokens.add_parsers(group(groups, "token", "API tokens"), common)
    prices.add_parsers(group(groups, "price", "the price table"), common)
    channels.add_parsers(group(groups, "channel", "upstream Kling accounts"), common)
    users.add_ledger_parser(groups, common)
    upkeep.add_rotate_parser(groups, common)
