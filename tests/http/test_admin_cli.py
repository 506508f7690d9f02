"""``kling-gateway migrate`` and ``kling-gateway admin …`` as an operator runs them: real processes
on a real database (SQLite and PostgreSQL), checked through the database they wrote."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kling_gateway import kling_jwt
from kling_gateway.domain.errors import AuthenticationFailed
from kling_gateway.services.auth import authenticate
from kling_gateway.services.token_cache import tokens
from kling_gateway.storage.db import database, open_database
from kling_gateway.storage.ledger import balance_matches_ledger
from kling_gateway.storage.migrations import available
from kling_gateway.storage.models import Price, SchemaMigration, User
from tests.support.clock import ManualClock

COMMAND = shutil.which("kling-gateway", path=str(Path(sys.executable).parent))


class Cli:
    """Runs the console script against one database; opens that database here on demand."""

    def __init__(self, url: str) -> None:
        assert COMMAND, "the console script is installed with the package"
        self.url = url
        self.env = {**os.environ, "KLING_GATEWAY_DATABASE_URL": url}
        self._opened = False

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([COMMAND, *args], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def run(self, *args: str, status: int = 0) -> subprocess.CompletedProcess:
        done = subprocess.run([COMMAND, *args], env=self.env, capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == status, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        return done

    def out(self, *args: str) -> str:
        return self.run(*args).stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def error(self, *args: str) -> str:
        """Runs a command that must fail; returns its one-line message."""
        done = self.run(*args, status=1)
        assert done.stdout == ""
        return done.stderr.strip()

    def open(self) -> None:
        if not self._opened:
            open_database(self.url)
            self._opened = True


@pytest.fixture
def cli(database_url: str) -> Iterator[Cli]:
    runner = Cli(database_url)
    yield runner
    runner.open()
    try:
        for user in User.select():
            assert balance_matches_ledger(user.id), user.name
    finally:
        database.close()


def test_migrate_concurrently_then_again(cli: Cli):
    first, second = cli.start("migrate", "--json"), cli.start("migrate", "--json")
    results = [process.communicate(timeout=120) for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], results
    applied = sorted((json.loads(out)["applied"] for out, _ in results), key=len)

    assert cli.out("migrate").strip() == "the schema is current"
    assert cli.json("migrate") == {"applied": []}
    cli.open()
    versions = [m.version for m in available(database.obj)]
    assert applied == [[], versions]
    rows = [row.version for row in SchemaMigration.select().order_by(SchemaMigration.version)]
    assert rows == versions


def test_users_balances_and_ledger(cli: Cli):
    assert cli.out("migrate").startswith("applied 0001")
    created = cli.json("admin", "user", "create", "alice", "--balance", "12.5")
    assert created["name"] == "alice" and created["balance"] == "12.50"
    assert not created["disabled"]
    assert cli.out("admin", "user", "create", "bob").startswith("created user bob  balance 0.00")

    topup = cli.json("admin", "user", "topup", "alice", "5", "--note", "invoice 7")
    assert (topup["kind"], topup["amount"], topup["balance_after"]) == ("topup", "5.00", "17.50")
    assert cli.out("admin", "user", "adjust", "alice", "-2.5", "--note", "goodwill").strip() == (
        "adjustment -2.50 CNY for alice: balance 15.00 CNY (entry 3)")

    assert cli.json("admin", "user", "show", "alice")["balance"] == "15.00"
    listed = cli.json("admin", "user", "list")
    assert [(u["name"], u["balance"]) for u in listed] == [("alice", "15.00"), ("bob", "0.00")]
    assert cli.json("admin", "user", "list", "--page", "2", "--page-size", "1")[0]["name"] == "bob"
    assert cli.json("admin", "user", "disable", "bob")["disabled"] is True
    assert "enabled" in cli.out("admin", "user", "enable", "bob")

    entries = cli.json("admin", "ledger", "alice")
    assert [(e["kind"], e["amount"], e["balance_after"], e["note"]) for e in entries] == [
        ("adjustment", "-2.50", "15.00", "goodwill"),
        ("topup", "5.00", "17.50", "invoice 7"),
        ("topup", "12.50", "12.50", "opening balance")]
    table = cli.out("admin", "ledger", "alice", "--page", "2", "--page-size", "2").splitlines()
    assert table[0].split() == ["ID", "WHEN", "KIND", "AMOUNT", "BALANCE", "TASK", "NOTE"]
    assert len(table) == 2 and table[1].split()[3:] == ["topup", "12.50", "12.50", "-",
                                                        "opening", "balance"]


def _credentials(text: str) -> dict[str, str]:
    lines = [line.split() for line in text.splitlines()[1:]]
    return {name: value for name, value in lines}


def test_tokens_authenticate_until_revoked(cli: Cli):
    clock = ManualClock()
    tokens.configure(1.0, clock=clock)  # the cache a gateway process keeps, on a manual clock
    cli.run("admin", "user", "create", "carol", "--balance", "10")
    printed = cli.out("admin", "token", "create", "carol", "--name", "ci", "--spend-limit",
                      "2.5", "--model", "kling-v1", "--model", "kling-v1-6")
    assert "shown only this once" in printed.splitlines()[0]
    keys = _credentials(printed)
    assert set(keys) == {"api_key", "access_key", "secret_key"}
    second = cli.json("admin", "token", "create", "carol", "--expires-at", "4102444800000")
    assert second["api_key"].startswith("kg-") and second["secret_key"]

    cli.open()
    by_key = authenticate(f"Bearer {keys['api_key']}")
    assert (by_key.user_name, by_key.allowed_models) == ("carol", ("kling-v1", "kling-v1-6"))
    jwt = kling_jwt.sign(keys["access_key"], keys["secret_key"])
    assert authenticate(f"Bearer {jwt}").token_id == by_key.token_id
    assert authenticate(f"Bearer {second['api_key']}").allowed_models is None

    listed = cli.json("admin", "token", "list", "carol")
    assert [(t["id"], t["name"], t["spend_limit"]) for t in listed] == [
        (by_key.token_id, "ci", "2.50"), (second["id"], "default", None)]
    assert listed[1]["expires_at"] == 4102444800000
    for token in listed:
        assert "secret_key" not in token and token["api_key"].endswith("…")
    assert keys["api_key"] not in cli.out("admin", "token", "list", "carol")

    revoked = cli.json("admin", "token", "revoke", str(by_key.token_id))
    assert revoked["revoked"] is True
    # The CLI is another process: this one believes its cached read for up to a second.
    assert authenticate(f"Bearer {keys['api_key']}").token_id == by_key.token_id
    clock.advance(1.0)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        authenticate(f"Bearer {keys['api_key']}")
    cli.run("admin", "user", "disable", "carol")
    clock.advance(1.0)
    with pytest.raises(AuthenticationFailed, match="disabled"):
        authenticate(f"Bearer {second['api_key']}")


def _price_table(cli: Cli) -> dict[str, str]:
    return {row["key"]: row["price"] for row in cli.json("admin", "price", "list")}


def test_prices_set_import_delete(cli: Cli, tmp_path: Path):
    dotted, canonical = "kling-video_kling-v1.5_std_5", "kling-video_kling-v1-5_std_5"
    assert cli.json("admin", "price", "set", dotted, "7.25")["key"] == canonical
    assert cli.out("admin", "price", "set", "kling-video_kling-v9_std", "0.0001").strip() == (
        "kling-video_kling-v9_std = 0.0001 CNY per second")
    csv_file = tmp_path / "prices.csv"
    csv_file.write_text("key,price\nkling-video_kling-v1.5_pro_10,31.5\nkling-image_kling-v9,2\n")
    assert cli.out("admin", "price", "import", str(csv_file)).startswith("imported 2 prices")
    json_file = tmp_path / "prices.json"
    json_file.write_text(json.dumps({"kling-video_kling-v1.5_std_10": "11",
                                     "kling-image_kling-v9": 3}))
    assert cli.json("admin", "price", "import", str(json_file)) == {"imported": 2}

    table = _price_table(cli)
    assert {key: table[key] for key in (canonical, "kling-video_kling-v1-5_pro_10",
                                        "kling-video_kling-v1-5_std_10",
                                        "kling-video_kling-v9_std", "kling-image_kling-v9")} == {
        canonical: "7.25", "kling-video_kling-v1-5_pro_10": "31.50",
        "kling-video_kling-v1-5_std_10": "11.00", "kling-video_kling-v9_std": "0.0001",
        "kling-image_kling-v9": "3.00"}
    assert dotted not in table and "kling-video_kling-v1.5_pro_10" not in table
    assert table["kling-video_kling-v1_std_5"] == "5.00"  # seeded by the migration

    assert cli.json("admin", "price", "delete", dotted) == {"key": canonical, "deleted": True}
    assert canonical not in _price_table(cli)
    assert cli.error("admin", "price", "delete", dotted) == f"error 1203: no price '{dotted}'"
    (tmp_path / "bad.csv").write_text("key,cost\nx,1\n")
    assert cli.error("admin", "price", "import", str(tmp_path / "bad.csv")).startswith(
        "error 1201: a CSV price file needs the columns")


def test_price_set_and_import_refuse_a_key_no_request_produces(cli: Cli, tmp_path: Path):
    message = cli.error("admin", "price", "set", "kling-video_kling-v3_sound", "1")
    assert message.startswith(
        "error 1201: invalid parameter 'key': no request produces 'kling-video_kling-v3_sound': "
        "a mode (std or pro) must follow the model. A price key is one of: "
        "kling-video_{model}_{std|pro}[_{3-15}][_sound|_voice]; ")
    prices = tmp_path / "prices.csv"
    prices.write_text("key,price\nkling-image_kling-v9,1\nkling-image_kling-v9_4k,1\n")
    message = cli.error("admin", "price", "import", str(prices))
    assert "no request produces 'kling-image_kling-v9_4k': '4k' is not an option" in message
    table = _price_table(cli)
    assert "kling-image_kling-v9" not in table and "kling-video_kling-v3_sound" not in table


def test_price_list_shows_what_is_sold_by_family_and_model(cli: Cli):
    cli.run("migrate")
    cli.open()
    Price.insert(key="kling-custom_a", amount=1, updated_at=0).execute()  # from before the rules
    listed = {row.pop("key"): row for row in cli.json("admin", "price", "list")}
    assert {k: v for k, v in listed["kling-video_kling-v3_pro_sound"].items()
            if k != "updated_at"} == {
        "price": "1.20", "families": ["text2video", "image2video"], "model": "kling-v3",
        "mode": "pro", "seconds": None, "options": ["sound"], "per": "second", "note": None}
    assert listed["kling-video_kling-v1-5_std_10"]["families"] == ["image2video"]
    assert listed["kling-video_kling-v1-5_std_10"]["per"] == "call"
    noted = {key: row["note"] for key, row in listed.items() if row["note"]}
    assert noted == {
        **{f"kling-image_{model}{size}": f"Kling documents no model {model} for image-generation"
           for model in ("kling-v1-6", "kling-v2-master", "kling-v2-1-master")
           for size in ("", "_2k")},
        "kling-custom_a": "no request produces this key: 'kling-custom' is not a price key prefix"}

    header, *lines = cli.out("admin", "price", "list").splitlines()
    assert header.split() == ["FAMILY", "MODEL", "MODE", "SECONDS", "OPTIONS", "CNY", "PER",
                              "KEY", "NOTE"]
    rows = [line.split(maxsplit=8) for line in lines]
    assert ["text2video,image2video", "kling-v3", "pro", "-", "sound", "1.20", "second",
            "kling-video_kling-v3_pro_sound", "-"] in rows
    assert rows[-1][:2] == ["-", "-"] and rows[-1][7:] == ["kling-custom_a", noted[
        "kling-custom_a"]]
    families = [row[0] for row in rows[:-1]]
    assert families == sorted(families), "grouped by family"
    v3 = [row[1] for row in rows if row[0] == "text2video,image2video"]
    assert v3 == sorted(v3), "then by model"


def test_errors_exit_1_with_code_and_message(cli: Cli):
    cli.run("admin", "user", "create", "dave", "--balance", "1")
    assert cli.error("admin", "user", "show", "ghost") == "error 1203: no user 'ghost'"
    assert cli.error("admin", "ledger", "ghost", "--json") == "error 1203: no user 'ghost'"
    assert cli.error("admin", "token", "create", "ghost") == "error 1203: no user 'ghost'"
    assert cli.error("admin", "user", "topup", "dave", "abc") == (
        "error 1201: invalid parameter 'amount': 'abc' is not a number")
    assert cli.error("admin", "user", "topup", "dave", "1.00001").endswith(
        "has more than 4 decimal places")
    assert cli.error("admin", "user", "create", "erin", "--balance", "-5") == (
        "error 1201: invalid parameter 'balance': '-5' must not be negative")
    assert cli.error("admin", "user", "adjust", "dave", "-1.5", "--note", "x").startswith(
        "error 1201: an adjustment of -1.50 CNY would take the balance of 1.00 CNY below zero")
    assert cli.error("admin", "user", "create", "dave").startswith("error 1201:")
    assert cli.error("admin", "token", "revoke", "999") == "error 1203: no token 999"
    assert cli.json("admin", "user", "list") == [cli.json("admin", "user", "show", "dave")]
    assert cli.json("admin", "user", "show", "dave")["balance"] == "1.00"
