"""``kling-gateway migrate`` and ``admin rotate-secret-key``: the database's upkeep."""

from __future__ import annotations

import argparse

from kling_gateway.cli.admin.base import Output, runner
from kling_gateway.storage.encryption import rotate_secrets
from kling_gateway.storage.migrations import migrate


def add_migrate_parser(commands: argparse._SubParsersAction,
                       common: argparse.ArgumentParser) -> None:
    migrate_parser = commands.add_parser(
        "migrate", parents=[common], help="apply the database migrations",
        description="Open KLING_GATEWAY_DATABASE_URL and apply the migrations it lacks.")
    migrate_parser.set_defaults(run=runner(_migrate))


def add_rotate_parser(groups: argparse._SubParsersAction,
                      common: argparse.ArgumentParser) -> None:
    rotate = groups.add_parser(
        "rotate-secret-key", parents=[common],
        help="re-encrypt every stored secret key with KLING_GATEWAY_SECRET_KEY",
        description="Re-encrypt channel and token secret keys with KLING_GATEWAY_SECRET_KEY, "
                    "reading values written under KLING_GATEWAY_OLD_SECRET_KEYS "
                    "(comma-separated) or in clear; values already under the current key are "
                    "left alone, so running it again changes nothing.")
    rotate.set_defaults(run=runner(_rotate_secret_key, migrate_first=True))


def _migrate(args: argparse.Namespace) -> Output:
    applied = migrate()
    text = ("applied " + ", ".join(applied)) if applied else "the schema is current"
    return Output({"applied": applied}, text)


def _rotate_secret_key(args: argparse.Namespace) -> Output:
    done = rotate_secrets()
    view = {"reencrypted": done.reencrypted, "already_current": done.current,
            "key_id": done.key_id}
    return Output(view, f"re-encrypted {done.reencrypted} secret values with key {done.key_id} "
                        f"({done.current} already current)")
