"""The authentication cache: a token read a moment ago is not read again, yet a revocation or a
disabled user made through this process takes effect on the very next request, and one made
elsewhere once the entry's second is over."""

from __future__ import annotations

import pytest

from kling_gateway import kling_jwt
from kling_gateway.domain.errors import AuthenticationFailed
from kling_gateway.services import accounts
from kling_gateway.services.auth import authenticate, authenticate_from_cache
from kling_gateway.services.token_cache import tokens
from kling_gateway.storage.models import ApiToken
from tests.storage.test_read_path import counted_selects
from tests.support.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    clock = ManualClock()
    tokens.configure(1.0, clock=clock)
    return clock


@pytest.fixture
def issued(db, clock):
    accounts.create_user("ada")
    return accounts.create_token("ada", "laptop")


def test_a_token_read_a_moment_ago_is_not_read_again(issued, clock):
    bearer = f"Bearer {issued.api_key}"
    with counted_selects() as selects:
        assert authenticate(bearer).user_name == "ada"
        assert authenticate(bearer).user_name == "ada"
        clock.advance(0.9)
        assert authenticate(bearer).user_name == "ada"
    assert len(selects) == 1
    clock.advance(0.1)
    with counted_selects() as selects:
        authenticate(bearer)
    assert len(selects) == 1


def test_the_event_loop_path_answers_only_from_the_cache(issued, clock):
    jwt = f"Bearer {kling_jwt.sign(issued.access_key, issued.secret_key)}"
    with counted_selects() as selects:
        assert authenticate_from_cache(jwt) is None  # a miss: the caller must ask the database
        assert authenticate(jwt).token_id == issued.token.id
        assert authenticate_from_cache(jwt).token_id == issued.token.id
    assert len(selects) == 1
    forged = kling_jwt.sign(issued.access_key, "not-the-secret-key-0123456789abcdef")
    with pytest.raises(AuthenticationFailed):  # the signature is still checked on every call
        authenticate_from_cache(f"Bearer {forged}")


def test_a_revocation_here_takes_effect_on_the_next_request(issued, clock):
    bearer = f"Bearer {issued.api_key}"
    authenticate(bearer)
    accounts.revoke_token(issued.token.id)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        authenticate(bearer)


def test_a_disabled_user_here_is_refused_on_the_next_request(issued, clock):
    bearer = f"Bearer {issued.api_key}"
    authenticate(bearer)
    accounts.set_disabled("ada", True)
    with pytest.raises(AuthenticationFailed, match="disabled"):
        authenticate(bearer)
    with pytest.raises(AuthenticationFailed, match="disabled"):
        authenticate_from_cache(bearer)


def test_a_change_made_elsewhere_counts_once_the_entry_is_a_second_old(issued, clock):
    bearer = f"Bearer {issued.api_key}"
    authenticate(bearer)
    ApiToken.update(revoked=True).where(ApiToken.id == issued.token.id).execute()  # another host
    assert authenticate(bearer).token_id == issued.token.id
    clock.advance(1.0)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        authenticate(bearer)


def test_unknown_keys_are_not_remembered(db, clock):
    accounts.create_user("bo")
    with pytest.raises(AuthenticationFailed):
        authenticate("Bearer kg-not-yet-issued")
    issued = accounts.create_token("bo")
    assert authenticate(f"Bearer {issued.api_key}").user_name == "bo"


def test_a_lifetime_of_zero_turns_the_cache_off(issued):
    tokens.configure(0)
    bearer = f"Bearer {issued.api_key}"
    with counted_selects() as selects:
        authenticate(bearer)
        authenticate(bearer)
    assert len(selects) == 2
    assert authenticate_from_cache(bearer) is None
