from __future__ import annotations

import jwt
import pytest

from kling_gateway import kling_jwt
from kling_gateway.domain.errors import (
    AuthenticationFailed,
    AuthorizationEmpty,
    AuthorizationInvalid,
    TokenExpired,
    TokenNotYetValid,
)

AK, SK = "ak", "sk-0123456789abcdef0123456789abcdef"
NOW = 1_800_000_000.0
secrets = {AK: SK}.get


def test_signed_token_has_kling_claims():
    token = kling_jwt.sign(AK, SK, now=NOW)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, SK, algorithms=["HS256"], options={"verify_exp": False,
                                                                 "verify_nbf": False})
    assert claims == {"iss": AK, "exp": NOW + 1800, "nbf": NOW - 5}


def test_verify_returns_the_access_key():
    assert kling_jwt.verify(kling_jwt.sign(AK, SK, now=NOW), secrets, now=NOW) == AK


@pytest.mark.parametrize(("token_now", "error"), [
    (NOW + 11, TokenNotYetValid), (NOW - 1800 - 5, TokenExpired)])
def test_time_window(token_now, error):
    with pytest.raises(error):
        kling_jwt.verify(kling_jwt.sign(AK, SK, now=token_now), secrets, now=NOW)


def test_other_failures_are_1000():
    with pytest.raises(AuthenticationFailed):
        kling_jwt.verify(kling_jwt.sign("other", SK, now=NOW), secrets, now=NOW)
    with pytest.raises(AuthenticationFailed):
        kling_jwt.verify(kling_jwt.sign(AK, SK + "x", now=NOW), secrets, now=NOW)
    unsigned = jwt.encode({"iss": AK, "exp": NOW + 60}, SK * 2, algorithm="HS512")
    with pytest.raises(AuthenticationFailed):
        kling_jwt.verify(unsigned, secrets, now=NOW)
    no_exp = jwt.encode({"iss": AK}, SK, algorithm="HS256")
    with pytest.raises(AuthenticationFailed):
        kling_jwt.verify(no_exp, secrets, now=NOW)


def test_header_parsing():
    assert kling_jwt.bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert kling_jwt.bearer_token("bearer abc") == "abc"
    with pytest.raises(AuthorizationEmpty):
        kling_jwt.bearer_token(None)
    with pytest.raises(AuthorizationEmpty):
        kling_jwt.bearer_token("  ")
    for bad in ("Basic x", "Bearer", "Bearer   "):
        with pytest.raises(AuthorizationInvalid):
            kling_jwt.bearer_token(bad)
    with pytest.raises(AuthorizationInvalid):
        kling_jwt.verify("garbage", secrets, now=NOW)
