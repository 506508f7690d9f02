"""Connexion validators that fail with official Kling errors naming the offending field.

The spec does the validating; these classes only turn Connexion's and jsonschema's failures into
``InvalidRequest`` (1200: the body is not JSON at all) or ``InvalidParameter`` (1201: a field
breaks the contract) with a message a developer can act on.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.json_schema import Draft4RequestValidator
from connexion.utils import is_null, is_nullable
from connexion.validators import (
    VALIDATOR_MAP,
    JSONRequestBodyValidator,
    ParameterValidator,
)
from jsonschema import Draft4Validator, ValidationError
from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope

from kling_gateway.domain.errors import InvalidParameter, InvalidRequest
from kling_gateway.domain.strict_json import field_path, parse_json
from kling_gateway.web.envelope import to_json

SECRET_WORDS = ("secret", "password", "token")
MAX_QUOTED_VALUE = 80
RULE_VALIDATORS = ("pattern", "anyOf", "oneOf")
"""Failures jsonschema words poorly (a regex; "not valid under any of the given schemas"):
where the spec states the rule in words (``x-rule``), the message gives those instead."""


def _what_is_wrong(error: ValidationError, name: str) -> str:
    """jsonschema's message, without echoing a secret or a huge value back to the client; for
    a pattern or a choice of forms, the rule the spec states in words (``x-rule``)."""
    if (error.validator in RULE_VALIDATORS and isinstance(error.schema, dict)
            and "x-rule" in error.schema):
        return f"must be {error.schema['x-rule']}"
    quoted = repr(error.instance)
    if not error.message.startswith(quoted):
        return error.message
    if any(word in name.lower() for word in SECRET_WORDS):
        return "the value" + error.message[len(quoted):]
    if len(quoted) > MAX_QUOTED_VALUE:
        return f"a value of {len(quoted)} characters" + error.message[len(quoted):]
    return error.message


def describe(error: ValidationError, root: str = "") -> str:
    """One sentence naming the field and what is wrong with it."""
    path = field_path(error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        full = f"{path}.{missing}" if path else missing
        return f"missing required parameter '{full}'"
    name = path or root
    if not name:
        return f"invalid request body: {_what_is_wrong(error, '')}"
    return f"invalid parameter '{name}': {_what_is_wrong(error, name)}"


class KlingJSONBodyValidator(JSONRequestBodyValidator):
    unknown_fields_limit: int | None = None
    """Bytes of fields the schema does not define that one body may carry; None: any."""

    @property
    def _validator(self) -> Draft4Validator:
        return _reused(self._schema, _body_checker)

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        headers = Headers(scope=scope)
        if "content-length" not in headers and "transfer-encoding" in headers:
            receive, scope = await _with_length(receive, scope)
            headers = Headers(scope=scope)
        # Connexion would guess JSON, but the handler would then get raw bytes: refuse instead.
        if "content-type" not in headers and int(headers.get("content-length") or 0):
            raise InvalidRequest("Content-Type must be application/json (the header is missing)")
        return await super().wrap_receive(receive, scope=scope)

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        raw = b"".join([message async for message in stream])
        try:
            text = raw.decode(self._encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise InvalidRequest(f"request body is not valid JSON: {exc}") from exc
        return parse_json(text) if text.strip() else None

    def _validate(self, body: Any) -> dict | None:
        if body is None:
            raise InvalidParameter("request body must be a JSON object, got an empty body")
        try:
            self._validator.validate(body)
        except ValidationError as exc:
            raise InvalidParameter(describe(exc)) from exc
        if self.unknown_fields_limit is not None:
            check_unknown_fields(self._schema, body, self.unknown_fields_limit)
        return None


async def _with_length(receive: Receive, scope: Scope) -> tuple[Receive, Scope]:
    """A streamed (chunked) body, read whole and given the Content-Length it lacked: Connexion
    takes a body without one for a missing body, and Kling serves such requests (HTTP clients
    stream a body whose size they do not know in advance). BodyLimitMiddleware has counted the
    bytes on their way in."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    body = b"".join(chunks)
    headers = [(name, value) for name, value in scope["headers"]
               if name.lower() != b"transfer-encoding"]
    scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay, scope


Path = tuple[str | int, ...]


def check_unknown_fields(schema: dict, body: Any, limit: int) -> None:
    """Refuses (1201) a body whose fields unknown to ``schema`` take more than ``limit`` bytes
    of JSON together, naming the largest of them."""
    sizes = {path: len(to_json(value).encode("utf-8"))
             for path, value in unknown_fields(schema, body, ())}
    total = sum(sizes.values())
    if total > limit:
        largest = max(sizes, key=sizes.__getitem__)
        raise InvalidParameter(
            f"invalid parameter '{field_path(largest)}': fields this API does not define may "
            f"take at most {limit} bytes in all, and this body's take {total}")


def unknown_fields(schema: dict, value: Any, path: Path) -> Iterator[tuple[Path, Any]]:
    """Each member of ``value`` (at any depth) that ``schema`` does not define, with its path.
    Members of objects and arrays the schema leaves open (no properties, no items) count as
    defined: the contract takes anything there."""
    if isinstance(value, dict):
        properties = _branch_value(schema, "properties", merge=True)
        others = _branch_value(schema, "additionalProperties")
        others = others if isinstance(others, dict) else None  # a map's values: typed
        if properties is None and others is None:
            return
        for name, member in value.items():
            member_schema = (properties or {}).get(name, others)
            if member_schema is None:
                yield (*path, name), member
            else:
                yield from unknown_fields(member_schema, member, (*path, name))
    elif isinstance(value, list):
        items = _branch_value(schema, "items")
        if isinstance(items, dict):
            for index, member in enumerate(value):
                yield from unknown_fields(items, member, (*path, index))


def _branch_value(schema: dict, key: str, *, merge: bool = False) -> Any:
    """``schema[key]``, else the first (or, with ``merge``, all merged) of its branches'."""
    found: Any = schema.get(key)
    for branch_key in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(branch_key) or ():
            value = _branch_value(branch, key, merge=merge)
            if value is None:
                continue
            if found is None:
                found = dict(value) if merge else value
            elif merge:
                found = {**value, **found}
    return found


Checker = Callable[[dict], Draft4Validator]
_checkers: dict[tuple[Checker, int], tuple[dict, Draft4Validator]] = {}


def _reused(schema: dict, build: Checker) -> Draft4Validator:
    """Connexion builds a jsonschema validator for each parameter and for the body on every
    request (a tenth of a get-by-id, an eighth of a create); a mounted spec's schemas never
    change, so one each is enough. An entry keeps its schema alive, so that schema's id is
    never reused by another."""
    cached = _checkers.get((build, id(schema)))
    if cached is None or cached[0] is not schema:
        cached = _checkers[(build, id(schema))] = (schema, build(schema))
    return cached[1]


def _parameter_checker(param: dict) -> Draft4Validator:
    return Draft4Validator(param.get("schema", param),
                           format_checker=Draft4Validator.FORMAT_CHECKER)


def _body_checker(schema: dict) -> Draft4Validator:
    """Connexion's own body validator (it also knows ``nullable`` and ``readOnly``)."""
    return Draft4RequestValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


class KlingParameterValidator(ParameterValidator):
    @staticmethod
    def validate_parameter(parameter_type: str, value: Any, param: dict,
                           param_name: str | None = None) -> str | None:
        if value is not None and not (is_nullable(param) and is_null(value)):
            message = _schema_problem(value, param)
        else:  # absent or null: Connexion's own rules, which build no validator
            message = ParameterValidator.validate_parameter(parameter_type, value, param,
                                                            param_name)
        if message is None:
            return None
        name = param_name or param.get("name", "")
        if message.startswith("Missing"):
            raise InvalidParameter(f"missing required {parameter_type} parameter '{name}'")
        first_line = message.splitlines()[0]
        raise InvalidParameter(f"invalid {parameter_type} parameter '{name}': {first_line}")


def _schema_problem(value: Any, param: dict) -> str | None:
    try:
        _reused(param, _parameter_checker).validate(value)
    except ValidationError as exc:
        return _what_is_wrong(exc, param.get("name", ""))
    return None


def kling_validator_map(*, unknown_fields_limit: int | None = None) -> dict:
    """Connexion's validators, ours for parameters and JSON bodies. ``unknown_fields_limit``:
    bytes of fields the spec does not define that a body may carry (None: any)."""
    body_validator = type("KlingJSONBodyValidator", (KlingJSONBodyValidator,),
                          {"unknown_fields_limit": unknown_fields_limit})
    body = MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": body_validator})
    return {"parameter": KlingParameterValidator, "body": body}
