"""Kling's bearer token: an HS256 JWT with ``iss`` = access key, signed with the secret key.

Signing and verifying live together so that the simulator, the gateway's own authentication and
the upstream client all agree on one definition of a valid token.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt

from kling_gateway.domain.errors import (
    AuthenticationFailed,
    AuthorizationEmpty,
    AuthorizationInvalid,
    TokenExpired,
    TokenNotYetValid,
)

TOKEN_LIFETIME_SECONDS = 1800
NOT_BEFORE_MARGIN_SECONDS = 5
CLOCK_SKEW_SECONDS = 5
"""Kling tolerates a few seconds of clock difference between caller and server."""


def sign(access_key: str, secret_key: str, *, now: float | None = None,
         lifetime: int = TOKEN_LIFETIME_SECONDS) -> str:
    """A token exactly as Kling's documentation builds one."""
    issued = int(time.time() if now is None else now)
    claims = {"iss": access_key, "exp": issued + lifetime,
              "nbf": issued - NOT_BEFORE_MARGIN_SECONDS}
    return jwt.encode(claims, secret_key, algorithm="HS256", headers={"typ": "JWT"})


def bearer_token(authorization: str | None) -> str:
    """The token inside an ``Authorization: Bearer <token>`` header (1001 / 1002 otherwise)."""
    if not authorization or not authorization.strip():
        raise AuthorizationEmpty()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthorizationInvalid("Authorization is invalid: expected 'Bearer <token>'")
    return token.strip()


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def verify(token: str, secret_for: Callable[[str], str | None], *,
           now: float | None = None) -> str:
    """Check a Kling JWT and return its access key.

    ``secret_for`` maps an access key to its secret key (None when unknown). Raises 1002 for a
    token that is not a JWT, 1003 before ``nbf``, 1004 after ``exp`` and 1000 for anything else
    (unknown issuer, bad signature, missing claims).
    """
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise AuthorizationInvalid("Authorization is invalid: malformed token") from exc
    if header.get("alg") != "HS256":
        raise AuthenticationFailed("authentication failed: token must be signed with HS256")
    access_key = claims.get("iss")
    secret = secret_for(access_key) if isinstance(access_key, str) else None
    if secret is None:
        raise AuthenticationFailed("authentication failed: unknown access key")
    _check_signature_and_times(token, secret, now)
    return access_key


def _check_signature_and_times(token: str, secret: str, now: float | None) -> None:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"],
                            options={"verify_exp": False, "verify_nbf": False,
                                     "require": ["exp", "iss"]})
    except jwt.InvalidSignatureError as exc:
        raise AuthenticationFailed("authentication failed: signature mismatch") from exc
    except jwt.PyJWTError as exc:
        raise AuthenticationFailed(f"authentication failed: {exc}") from exc
    current = time.time() if now is None else now
    # Times are compared here rather than by pyjwt so that 1003 and 1004 stay distinct.
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and current + CLOCK_SKEW_SECONDS < nbf:
        raise TokenNotYetValid()
    exp = claims["exp"]
    if not isinstance(exp, int | float):
        raise AuthenticationFailed("authentication failed: exp must be a number")
    if current - CLOCK_SKEW_SECONDS >= exp:
        raise TokenExpired()
