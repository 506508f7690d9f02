"""The one error type of kling-gateway: every failure a client can see is a ``KlingError``.

Each leaf carries one official Kling error code and the HTTP status Kling answers it with
(``shared/kling-api.md`` section 3). A single handler renders any of them as the official
envelope ``{code, message, request_id}``; nothing else formats errors.

    KlingError
    ├── AuthError (401)
    │   ├── AuthenticationFailed      1000
    │   ├── AuthorizationEmpty        1001
    │   ├── AuthorizationInvalid      1002
    │   ├── TokenNotYetValid          1003
    │   └── TokenExpired              1004
    ├── AccountError
    │   ├── AccountException          1100 (429)
    │   ├── AccountInArrears          1101 (429)
    │   ├── ResourcePackExhausted     1102 (429)
    │   └── PermissionDenied          1103 (403)
    ├── RequestError
    │   ├── InvalidRequest            1200 (400)
    │   ├── InvalidParameter          1201 (400)
    │   ├── InvalidMethod             1202 (404)
    │   └── ResourceNotFound          1203 (404)
    ├── PolicyError
    │   ├── PlatformPolicy            1300 (400)
    │   ├── ContentSafety             1301 (400)
    │   ├── RateLimited               1302 (429)
    │   ├── ConcurrencyLimit          1303 (429)
    │   └── IpWhitelist               1304 (429)
    └── ServerError
        ├── InternalError             5000 (500)
        ├── ServiceUnavailable        5001 (503)
        └── InternalTimeout           5002 (504)
"""

from __future__ import annotations

from typing import ClassVar


class KlingError(Exception):
    """A failure with an official Kling code, HTTP status and a message for the client."""

    code: ClassVar[int] = 5000
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "internal error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, message={self.message!r})"


class AuthError(KlingError):
    status = 401


class AuthenticationFailed(AuthError):
    code = 1000
    default_message = "authentication failed"


class AuthorizationEmpty(AuthError):
    code = 1001
    default_message = "Authorization is empty"


class AuthorizationInvalid(AuthError):
    code = 1002
    default_message = "Authorization is invalid"


class TokenNotYetValid(AuthError):
    code = 1003
    default_message = "Authorization is not yet valid"


class TokenExpired(AuthError):
    code = 1004
    default_message = "Authorization has expired"


class AccountError(KlingError):
    status = 429


class AccountException(AccountError):
    code = 1100
    default_message = "account exception"


class AccountInArrears(AccountError):
    code = 1101
    default_message = "account in arrears"


class ResourcePackExhausted(AccountError):
    code = 1102
    default_message = "resource pack exhausted or expired"


class PermissionDenied(AccountError):
    code = 1103
    status = 403
    default_message = "no permission to access the requested resource"


class RequestError(KlingError):
    status = 400


class InvalidRequest(RequestError):
    code = 1200
    default_message = "invalid request"


class InvalidParameter(RequestError):
    code = 1201
    default_message = "invalid parameter"


class InvalidMethod(RequestError):
    code = 1202
    status = 404
    default_message = "invalid request method"


class ResourceNotFound(RequestError):
    code = 1203
    status = 404
    default_message = "requested resource does not exist"


class PolicyError(KlingError):
    status = 400


class PlatformPolicy(PolicyError):
    code = 1300
    default_message = "platform policy triggered"


class ContentSafety(PolicyError):
    code = 1301
    default_message = "content security policy triggered"


class RateLimited(PolicyError):
    code = 1302
    status = 429
    default_message = "request rate over limit"


class ConcurrencyLimit(PolicyError):
    code = 1303
    status = 429
    default_message = "parallel task over resource pack limit"


class IpWhitelist(PolicyError):
    code = 1304
    status = 429
    default_message = "IP whitelist policy triggered"


class ServerError(KlingError):
    status = 500


class InternalError(ServerError):
    code = 5000
    default_message = "internal error"


class ServiceUnavailable(ServerError):
    code = 5001
    status = 503
    default_message = "service temporarily unavailable"


class InternalTimeout(ServerError):
    code = 5002
    status = 504
    default_message = "internal timeout"


def _leaves(cls: type[KlingError]) -> list[type[KlingError]]:
    children = cls.__subclasses__()
    if not children:
        return [cls]
    return [leaf for child in children for leaf in _leaves(child)]


ERRORS_BY_CODE: dict[int, type[KlingError]] = {leaf.code: leaf for leaf in _leaves(KlingError)}
"""Every official code → its error class; the relay uses it to re-raise upstream errors."""


def error_for_code(code: int, message: str | None = None) -> KlingError:
    """The error for an official code; an unknown code is an internal error with its message."""
    return ERRORS_BY_CODE.get(code, InternalError)(message)
