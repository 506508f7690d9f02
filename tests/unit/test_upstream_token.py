from __future__ import annotations

import jwt

from kling_gateway.upstream.auth import RENEW_BEFORE_SECONDS, ChannelToken
from tests.support.clock import ManualClock

AK, SK = "channel-ak", "channel-sk-0123456789abcdef0123456789"


def claims(bearer: str) -> dict:
    return jwt.decode(bearer.removeprefix("Bearer "), SK, algorithms=["HS256"],
                      options={"verify_exp": False, "verify_nbf": False})


def test_a_channel_token_is_reused_until_shortly_before_it_expires():
    clock = ManualClock(start=1_800_000_000)
    token = ChannelToken(AK, SK, clock=clock)
    first = token.bearer()
    assert claims(first) == {"iss": AK, "exp": 1_800_001_800, "nbf": 1_799_999_995}

    clock.advance(1800 - RENEW_BEFORE_SECONDS - 1)
    assert token.bearer() == first
    clock.advance(1)
    renewed = token.bearer()
    assert renewed != first and claims(renewed)["exp"] == clock() + 1800
