"""``kling-gateway admin channel …`` as an operator runs it: real processes on a real database
(SQLite and PostgreSQL). The secret key is never printed, on stdout or stderr, in any mode."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from kling_gateway.services.channels import OFFICIAL_BASE_URL
from kling_gateway.storage import channels as channel_store
from kling_gateway.storage.db import database
from kling_gateway.storage.models import Channel
from tests.http.test_admin_api import ADMIN_TOKEN, AdminApi, gateway
from tests.http.test_admin_cli import COMMAND, Cli

SECRET_MARK = "sk-never-printed"


def secret(n: int) -> str:
    return f"{SECRET_MARK}-{n}-4f1a8d3c6e0b5f2a9d7c4e1b8f9c2e7b"


class ChannelCli(Cli):
    """A ``Cli`` that keeps every output it saw, to search them for secrets afterwards."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.outputs: list[str] = []

    def run(self, *args: str, status: int = 0, stdin: str | None = None,
            ) -> subprocess.CompletedProcess:
        done = subprocess.run([COMMAND, *args], env=self.env, capture_output=True, text=True,
                              timeout=120, check=False, input=stdin)
        self.outputs += [done.stdout, done.stderr]
        assert done.returncode == status, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        return done


@pytest.fixture
def cli(database_url: str) -> Iterator[ChannelCli]:
    runner = ChannelCli(database_url)
    yield runner
    try:
        assert runner.outputs, "the test ran the command"
        for output in runner.outputs:
            assert SECRET_MARK not in output, output
    finally:
        if runner._opened:
            database.close()


def stored(cli: ChannelCli, name: str) -> Channel:
    cli.open()
    return Channel.get(Channel.name == name)


def test_channel_is_added_with_defaults_and_shown_without_its_secret(cli: ChannelCli):
    printed = cli.out("admin", "channel", "add", "beijing", "--access-key", "ak-1",
                      "--secret-key", secret(1))
    assert printed.strip() == (
        f"added channel beijing  {OFFICIAL_BASE_URL}  access_key ak-1  priority 0  weight 1  "
        "models *  max_concurrency -  enabled")
    shown = cli.json("admin", "channel", "show", "beijing")
    assert {k: v for k, v in shown.items() if k != "created_at"} == {
        "name": "beijing", "base_url": OFFICIAL_BASE_URL, "access_key": "ak-1",
        "secret_key_set": True, "priority": 0, "weight": 1, "enabled": True,
        "allowed_models": None, "max_concurrency": None, "out_of_rotation": None}
    assert stored(cli, "beijing").secret_key == secret(1)


def test_channel_add_takes_every_option_and_lists_like_the_api(cli: ChannelCli,
                                                               database_url: str):
    added = cli.json("admin", "channel", "add", "sim", "--access-key", "ak-sim",
                     "--secret-key", secret(1), "--base-url", "http://127.0.0.1:9/kling/",
                     "--priority", "5", "--weight", "0", "--disabled", "--model", "kling-v1",
                     "--model", "kling-v2-master", "--max-concurrency", "3")
    assert {k: added[k] for k in ("base_url", "priority", "weight", "enabled",
                                  "allowed_models", "max_concurrency", "secret_key_set")} == {
        "base_url": "http://127.0.0.1:9/kling", "priority": 5, "weight": 0, "enabled": False,
        "allowed_models": ["kling-v1", "kling-v2-master"], "max_concurrency": 3,
        "secret_key_set": True}
    cli.run("admin", "channel", "add", "backup", "--access-key", "ak-b", "--secret-key",
            secret(2))

    listed = cli.json("admin", "channel", "list")
    assert [c["name"] for c in listed] == ["sim", "backup"]
    assert listed[0] == added and "secret_key" not in listed[1]
    table = cli.out("admin", "channel", "list").splitlines()
    assert table[0].split() == ["NAME", "BASE_URL", "ACCESS_KEY", "PRIORITY", "WEIGHT",
                                "MODELS", "MAX", "STATE"]
    assert table[1].split() == ["sim", "http://127.0.0.1:9/kling", "ak-sim", "5", "0",
                                "kling-v1,kling-v2-master", "3", "disabled"]
    assert table[2].split() == ["backup", OFFICIAL_BASE_URL, "ak-b", "0", "1", "*", "-",
                                "enabled"]

    with gateway(database_url, ADMIN_TOKEN) as base_url:  # the API answers the same views
        assert AdminApi(base_url).data("GET", "/channels") == listed


def test_channel_update_rotates_keys_and_changes_only_what_is_given(cli: ChannelCli):
    added = cli.json("admin", "channel", "add", "beijing", "--access-key", "ak-1",
                     "--secret-key", secret(1), "--model", "kling-v1", "--max-concurrency", "2")
    rotated = cli.json("admin", "channel", "update", "beijing", "--access-key", "ak-2",
                       "--secret-key", secret(2))
    assert rotated == {**added, "access_key": "ak-2"}
    assert stored(cli, "beijing").secret_key == secret(2)

    printed = cli.out("admin", "channel", "update", "beijing", "--priority", "-1", "--weight",
                      "7", "--base-url", "https://api-singapore.klingai.com", "--disable")
    assert printed.strip() == (
        "updated channel beijing  https://api-singapore.klingai.com  access_key ak-2  "
        "priority -1  weight 7  models kling-v1  max_concurrency 2  disabled")
    changed = cli.json("admin", "channel", "update", "beijing", "--model", "kling-v2-master",
                       "kling-v2-1", "--enable")
    assert (changed["allowed_models"], changed["enabled"]) == (
        ["kling-v2-master", "kling-v2-1"], True)
    cleared = cli.json("admin", "channel", "update", "beijing", "--clear-models",
                       "--clear-max-concurrency")
    assert (cleared["allowed_models"], cleared["max_concurrency"]) == (None, None)
    assert cleared["priority"] == -1 and cleared["access_key"] == "ak-2"


def test_secret_key_can_be_read_from_stdin(cli: ChannelCli):
    cli.run("admin", "channel", "add", "beijing", "--access-key", "ak-1", "--secret-key", "-",
            stdin=secret(1) + "\n")
    assert stored(cli, "beijing").secret_key == secret(1)
    cli.run("admin", "channel", "update", "beijing", "--secret-key", "-", "--json",
            stdin=secret(2) + "\n")
    assert stored(cli, "beijing").secret_key == secret(2)


def test_channel_is_disabled_and_enabled(cli: ChannelCli):
    added = cli.json("admin", "channel", "add", "beijing", "--access-key", "ak-1",
                     "--secret-key", secret(1))
    assert cli.json("admin", "channel", "disable", "beijing") == {**added, "enabled": False}
    assert cli.out("admin", "channel", "disable", "beijing").startswith(
        "disabled channel beijing")
    assert cli.json("admin", "channel", "enable", "beijing") == added


def test_channel_errors_exit_1_with_code_and_message(cli: ChannelCli):
    cli.run("admin", "channel", "add", "beijing", "--access-key", "ak-1", "--secret-key",
            secret(1))
    add = ("admin", "channel", "add")
    keys = ("--access-key", "ak", "--secret-key", secret(2))
    assert cli.error(*add, "beijing", *keys) == (
        "error 1201: invalid parameter 'name': channel 'beijing' exists")
    for url in ("ftp://api.klingai.com", "api-beijing.klingai.com", "https://", "https://a b"):
        assert cli.error(*add, "other", *keys, "--base-url", url) == (
            "error 1201: invalid parameter 'base_url': must be an http(s) URL")
        assert cli.error("admin", "channel", "update", "beijing", "--base-url", url) == (
            "error 1201: invalid parameter 'base_url': must be an http(s) URL")
    assert cli.error(*add, "a/b", *keys).startswith("error 1201: invalid parameter 'name'")
    for command in (("show", "nowhere"), ("disable", "nowhere"), ("enable", "nowhere"),
                    ("update", "nowhere", "--weight", "2"),
                    ("update", "nowhere", "--secret-key", secret(3))):
        assert cli.error("admin", "channel", *command) == "error 1203: no channel 'nowhere'"
    assert cli.error("admin", "channel", "update", "beijing") == (
        "error 1201: nothing to update: give at least one option to change")

    shown = cli.json("admin", "channel", "show", "beijing")
    assert (shown["base_url"], shown["weight"]) == (OFFICIAL_BASE_URL, 1)
    assert stored(cli, "beijing").secret_key == secret(1)
    assert [c["name"] for c in cli.json("admin", "channel", "list")] == ["beijing"]


@pytest.mark.parametrize("args", [
    ("add", "x", "--access-key", "ak"),  # no secret key
    ("add", "x", "--access-key", "ak", "--secret-key", secret(1), "--weight", "-1"),
    ("add", "x", "--access-key", "ak", "--secret-key", secret(1), "--max-concurrency", "0"),
    ("update", "x", "--model", "m", "--clear-models"),
    ("update", "x", "--max-concurrency", "2", "--clear-max-concurrency"),
    ("update", "x", "--enable", "--disable"),
    ("update", "x", "--secret-key", secret(1), "--priority", "high"),
], ids=["no-secret", "negative-weight", "zero-concurrency", "models-and-clear",
        "limit-and-clear", "enable-and-disable", "bad-priority"])
def test_bad_options_are_usage_errors_that_do_not_echo_the_secret(cli: ChannelCli, args):
    done = cli.run("admin", "channel", *args, status=2)
    assert done.stdout == "" and "usage:" in done.stderr


def test_only_commands_that_store_a_secret_warn_that_it_is_kept_in_clear(cli: ChannelCli):
    cli.env.pop("KLING_GATEWAY_SECRET_KEY", None)
    added = cli.run("admin", "channel", "add", "clear", "--access-key", "ak-c",
                    "--secret-key", secret(7))
    assert "IN CLEAR" in added.stderr and "IN CLEAR" not in added.stdout
    assert "IN CLEAR" not in cli.run("admin", "channel", "list").stderr  # reads say nothing
    cli.env["KLING_GATEWAY_SECRET_KEY"] = "a-production-key-of-at-least-32-characters!"
    updated = cli.run("admin", "channel", "update", "clear", "--secret-key", secret(8))
    assert "IN CLEAR" not in updated.stderr


def test_a_channel_out_of_rotation_shows_why_and_enable_puts_it_back(cli: ChannelCli):
    cli.run("admin", "channel", "add", "beijing", "--access-key", "ak-1", "--secret-key",
            secret(1))
    since = 1722944900000  # 2024-08-06 11:48:20 UTC
    assert channel_store.take_out(stored(cli, "beijing").id, 1101, "account in arrears", since)

    assert cli.json("admin", "channel", "show", "beijing")["out_of_rotation"] == {
        "code": 1101, "reason": "account in arrears", "since": since, "last_checked_at": None}
    assert cli.out("admin", "channel", "show", "beijing").strip().endswith(
        "enabled  out of rotation since 2024-08-06 11:48:20 UTC (Kling 1101: account in "
        "arrears; last checked -)")
    assert cli.out("admin", "channel", "list").splitlines()[1].split()[-1] == "out-of-rotation"

    assert cli.json("admin", "channel", "enable", "beijing")["out_of_rotation"] is None
    assert cli.out("admin", "channel", "list").splitlines()[1].split()[-1] == "enabled"
