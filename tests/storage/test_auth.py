"""Gateway identity: both bearer forms, every official error code, token and user states."""

from __future__ import annotations

import time

import pytest

from kling_gateway import kling_jwt
from kling_gateway.domain.errors import (
    AuthenticationFailed,
    AuthorizationEmpty,
    AuthorizationInvalid,
    InvalidParameter,
    TokenExpired,
    TokenNotYetValid,
)
from kling_gateway.services import accounts
from kling_gateway.services.auth import authenticate, authenticate_admin
from kling_gateway.storage.models import ApiToken


@pytest.fixture
def issued(db):
    accounts.create_user("ada")
    return accounts.create_token("ada", "laptop", allowed_models=["kling-v1-6"])


def test_api_key_authenticates(issued):
    caller = authenticate(f"Bearer {issued.api_key}")
    assert (caller.user_name, caller.token_id) == ("ada", issued.token.id)
    assert caller.allowed_models == ("kling-v1-6",)


def test_kling_jwt_signed_with_the_secret_key_authenticates(issued):
    token = kling_jwt.sign(issued.access_key, issued.secret_key)
    assert authenticate(f"Bearer {token}").token_id == issued.token.id


def test_the_api_key_is_stored_only_as_a_hash(issued):
    stored = ApiToken.get_by_id(issued.token.id).__data__
    assert issued.api_key not in {str(value) for value in stored.values()}
    assert stored["key_hint"] == issued.api_key[:7]


@pytest.mark.parametrize(("header", "error"), [
    (None, AuthorizationEmpty), ("", AuthorizationEmpty), ("Basic abc", AuthorizationInvalid),
    ("Bearer", AuthorizationInvalid), ("Bearer kg-unknown", AuthenticationFailed),
    ("Bearer a.b.c", AuthorizationInvalid)])
def test_malformed_and_unknown_credentials(issued, header, error):
    with pytest.raises(error):
        authenticate(header)


def test_jwt_time_window_and_signature(issued):
    now = time.time()
    early = kling_jwt.sign(issued.access_key, issued.secret_key, now=now + 60)
    late = kling_jwt.sign(issued.access_key, issued.secret_key, now=now - 3600)
    forged = kling_jwt.sign(issued.access_key, "not-the-secret-0123456789abcdef01", now=now)
    with pytest.raises(TokenNotYetValid):
        authenticate(f"Bearer {early}", now=now)
    with pytest.raises(TokenExpired):
        authenticate(f"Bearer {late}", now=now)
    with pytest.raises(AuthenticationFailed):
        authenticate(f"Bearer {forged}", now=now)
    skewed = kling_jwt.sign(issued.access_key, issued.secret_key, now=now + 8)
    assert authenticate(f"Bearer {skewed}", now=now).user_name == "ada"


def test_revoked_token_and_disabled_user_are_1000(issued):
    accounts.revoke_token(issued.token.id)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        authenticate(f"Bearer {issued.api_key}")
    fresh = accounts.create_token("ada")
    accounts.set_disabled("ada", True)
    with pytest.raises(AuthenticationFailed, match="disabled"):
        authenticate(f"Bearer {fresh.api_key}")
    accounts.set_disabled("ada", False)
    assert authenticate(f"Bearer {fresh.api_key}").user_name == "ada"


def test_expired_token_is_1004(db):
    accounts.create_user("bob")
    expiry = time.time() + 60
    issued = accounts.create_token("bob", expires_at=int(expiry * 1000))
    assert authenticate(f"Bearer {issued.api_key}", now=expiry - 1).user_name == "bob"
    with pytest.raises(TokenExpired):
        authenticate(f"Bearer {issued.api_key}", now=expiry)


def test_a_token_cannot_be_issued_already_expired(db):
    accounts.create_user("bob")
    with pytest.raises(InvalidParameter, match="expires_at"):
        accounts.create_token("bob", expires_at=int(time.time() * 1000) - 1)


def test_admin_token():
    assert authenticate_admin("Bearer s3cret", "s3cret") == {"sub": "admin"}
    with pytest.raises(AuthenticationFailed):
        authenticate_admin("Bearer guess", "s3cret")
    with pytest.raises(AuthenticationFailed, match="disabled"):
        authenticate_admin("Bearer anything", None)
    with pytest.raises(AuthorizationEmpty):
        authenticate_admin(None, "s3cret")
