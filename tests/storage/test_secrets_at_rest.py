"""Channel and token secret keys are encrypted at rest (SQLite and PostgreSQL): the raw columns
never hold them in clear, everything that needs them still works, and the key rotates."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from kling_gateway import kling_jwt
from kling_gateway.config import Settings
from kling_gateway.services import accounts, channels
from kling_gateway.services.auth import authenticate
from kling_gateway.storage.db import database, open_database
from kling_gateway.storage.encryption import (
    PREFIX,
    SecretKeyError,
    configure_keyring,
    fernet_key,
    rotate_secrets,
)
from kling_gateway.storage.models import ApiToken, Channel
from tests.support.gateway import SIM_KEY, start_gateway

KEY_A = "key-a-" + "0123456789abcdef" * 3
KEY_B = Fernet.generate_key().decode()
CHANNEL_SECRET = "channel-secret-0123456789abcdef"
COMMAND = shutil.which("kling-gateway", path=str(Path(sys.executable).parent))


@pytest.fixture(autouse=True)
def development_keyring_afterwards() -> Iterator[None]:
    """The keyring is process-wide: leave it as every other test expects it (no key)."""
    yield
    configure_keyring(Settings())


def use_keys(current: str | None, *old: str) -> None:
    configure_keyring(Settings(secret_key=current, old_secret_keys=old))


def raw(db, table: str) -> list[dict[str, object]]:
    cursor = db.execute_sql(f'SELECT * FROM "{table}" ORDER BY "id"')
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def raw_secrets(db) -> list[str]:
    return [row["secret_key"] for table in ("api_tokens", "channels") for row in raw(db, table)]


def secrets_of_two_rows(db) -> tuple[accounts.IssuedToken, str]:
    accounts.create_user("ada")
    issued = accounts.create_token("ada")
    channels.add_channel("sim", access_key="sim-ak", secret_key=CHANNEL_SECRET)
    return issued, CHANNEL_SECRET


# ---- encryption at rest ---------------------------------------------------------------------


def test_the_database_never_holds_a_secret_key_in_clear(db):
    use_keys(KEY_A)
    issued, channel_secret = secrets_of_two_rows(db)
    channels.update_channel("sim", secret_key="rotated-" + channel_secret)

    (token_row,) = raw(db, "api_tokens")
    (channel_row,) = raw(db, "channels")
    stored = " ".join(str(v) for row in (token_row, channel_row) for v in row.values())
    for secret in (issued.secret_key, channel_secret, "rotated-" + channel_secret,
                   issued.api_key):
        assert secret not in stored
    assert all(value.startswith(PREFIX) for value in raw_secrets(db))
    assert token_row["key_hash"] == hashlib.sha256(issued.api_key.encode()).hexdigest()
    assert ApiToken.get_by_id(issued.token.id).secret_key == issued.secret_key
    assert channels.find_channel("sim").secret_key == "rotated-" + channel_secret


def test_a_kling_jwt_still_authenticates_against_the_encrypted_secret(db):
    use_keys(KEY_A)
    issued, _ = secrets_of_two_rows(db)
    token = kling_jwt.sign(issued.access_key, issued.secret_key)
    assert authenticate(f"Bearer {token}").token_id == issued.token.id
    assert authenticate(f"Bearer {issued.api_key}").token_id == issued.token.id


@pytest.fixture
def encrypted_gateway(database_url):
    with ExitStack() as stack:
        yield start_gateway(database_url, stack, secret_key=KEY_A)


def test_callers_and_upstreams_get_the_right_keys_over_http(encrypted_gateway):
    gateway = encrypted_gateway
    upstream = gateway.add_upstream("sim")  # the simulator accepts only SIM_KEY's signature
    ada = gateway.tenant("ada")

    task = ada.jwt.create("/v1/videos/text2video", {"prompt": "x"})
    assert ada.key.get(f"/v1/videos/text2video/{task['task_id']}").status_code == 200
    assert len(upstream.jobs()) == 1
    assert SIM_KEY[1] not in raw_secrets(database.obj)
    assert ada.issued.secret_key not in raw_secrets(database.obj)


def test_a_wrong_key_answers_5000_without_details(encrypted_gateway):
    gateway = encrypted_gateway
    ada = gateway.tenant("ada")
    use_keys(KEY_B)  # as if this instance had been started with another key

    for api in (ada.jwt, ada.key):
        response = api.get("/v1/videos/text2video")
        assert response.status_code == 500, response.text
        body = response.json()
        assert body["code"] == 5000
        assert "KLING_GATEWAY_SECRET_KEY" in body["message"]
        assert "Traceback" not in response.text and PREFIX not in response.text


# ---- rotation -------------------------------------------------------------------------------


def test_rotation_moves_every_value_to_the_new_key(db):
    use_keys(KEY_A)
    issued, channel_secret = secrets_of_two_rows(db)

    use_keys(KEY_B, KEY_A)
    first = rotate_secrets()
    assert (first.reencrypted, first.current) == (2, 0)

    use_keys(KEY_B)  # the new key alone reads everything
    assert ApiToken.get_by_id(issued.token.id).secret_key == issued.secret_key
    assert Channel.get(Channel.name == "sim").secret_key == channel_secret
    use_keys(KEY_A)  # the old key alone reads nothing
    with pytest.raises(SecretKeyError):
        ApiToken.get_by_id(issued.token.id)
    with pytest.raises(SecretKeyError):
        channels.find_channel("sim")


def test_rotating_twice_changes_nothing(db):
    use_keys(KEY_A)
    secrets_of_two_rows(db)
    use_keys(KEY_B, KEY_A)
    rotate_secrets()
    before = raw_secrets(db)

    again = rotate_secrets()
    assert (again.reencrypted, again.current) == (0, 2)
    assert raw_secrets(db) == before


def test_rotation_encrypts_rows_written_in_clear(db):
    issued, channel_secret = secrets_of_two_rows(db)  # development mode: no key
    assert sorted(raw_secrets(db)) == sorted([issued.secret_key, channel_secret])

    use_keys(KEY_A)  # rows in clear stay readable until the rotation
    assert ApiToken.get_by_id(issued.token.id).secret_key == issued.secret_key
    assert rotate_secrets().reencrypted == 2
    assert all(value.startswith(PREFIX) for value in raw_secrets(db))
    assert channels.find_channel("sim").secret_key == channel_secret


def test_rotation_with_a_wrong_key_fails_clearly_and_changes_nothing(db):
    use_keys(KEY_A)
    secrets_of_two_rows(db)
    before = raw_secrets(db)

    use_keys(KEY_B)  # KEY_A forgotten in KLING_GATEWAY_OLD_SECRET_KEYS
    with pytest.raises(SecretKeyError, match=r"api_tokens\.secret_key of row \d+: cannot"):
        rotate_secrets()
    assert raw_secrets(db) == before
    use_keys(None)
    with pytest.raises(SecretKeyError, match="KLING_GATEWAY_SECRET_KEY is not set"):
        ApiToken.get()
    with pytest.raises(SecretKeyError, match="set KLING_GATEWAY_SECRET_KEY"):
        rotate_secrets()


def test_development_mode_warns_at_start_up(caplog):
    configure_keyring(Settings())
    assert any(r.levelname == "WARNING" and "IN CLEAR" in r.getMessage()
               for r in caplog.records)
    caplog.clear()
    configure_keyring(Settings(), quiet=True)
    configure_keyring(Settings(secret_key=KEY_A))
    assert not caplog.records


def test_key_formats():
    fernet = Fernet.generate_key()
    assert fernet_key(fernet.decode()) == fernet
    derived = fernet_key(KEY_A)
    assert derived == fernet_key(KEY_A) != fernet_key(KEY_A + "x")
    Fernet(derived)  # a valid Fernet key
    with pytest.raises(SecretKeyError, match="at least 32"):
        fernet_key("too-short")
    with pytest.raises(SecretKeyError, match="needs KLING_GATEWAY_SECRET_KEY"):
        use_keys(None, KEY_A)


# ---- the command ----------------------------------------------------------------------------


def run(url: str, *args: str, status: int = 0, **keys: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("KLING_GATEWAY_")}
    env.update(KLING_GATEWAY_DATABASE_URL=url, **keys)
    done = subprocess.run([COMMAND, *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == status, (args, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_rotate_secret_key_command(database_url):
    assert COMMAND, "the console script is installed with the package"
    a, b = {"KLING_GATEWAY_SECRET_KEY": KEY_A}, {"KLING_GATEWAY_SECRET_KEY": KEY_B}
    run(database_url, "admin", "user", "create", "ada")
    in_clear = run(database_url, "admin", "token", "create", "ada", "--json")
    # The answer (stdout) stays clean JSON; the warning that the secret is kept in clear is
    # beside it, on stderr.
    assert in_clear.stderr.startswith("warning: KLING_GATEWAY_SECRET_KEY is not set")
    secret = json.loads(in_clear.stdout)["secret_key"]
    run(database_url, "admin", "token", "create", "ada", "--name", "second", **a)

    done = run(database_url, "admin", "rotate-secret-key", **a)
    assert done.stdout.startswith("re-encrypted 1 secret values with key ")
    assert "(1 already current)" in done.stdout
    rotated = run(database_url, "admin", "rotate-secret-key", "--json",
                  KLING_GATEWAY_OLD_SECRET_KEYS=f" {KEY_A} ,", **b)
    assert json.loads(rotated.stdout)["reencrypted"] == 2
    again = run(database_url, "admin", "rotate-secret-key", "--json", **b)
    assert json.loads(again.stdout)["already_current"] == 2

    failed = run(database_url, "admin", "rotate-secret-key", status=1, **a)
    assert failed.stdout == ""
    assert failed.stderr.startswith("error 5000: api_tokens.secret_key of row ")
    short = run(database_url, "admin", "user", "list", status=1,
                KLING_GATEWAY_SECRET_KEY="short")
    assert "at least 32" in short.stderr

    db = open_database(database_url)
    try:
        assert secret not in raw_secrets(db)
        use_keys(KEY_B)
        first = ApiToken.select().order_by(ApiToken.id).first()
        assert first.secret_key == secret
    finally:
        db.close()
