"""The error tree matches the official table of codes and HTTP statuses, leaf for leaf."""

from __future__ import annotations

from kling_gateway.domain.errors import ERRORS_BY_CODE, InternalError, KlingError, error_for_code

OFFICIAL = {
    1000: 401, 1001: 401, 1002: 401, 1003: 401, 1004: 401,
    1100: 429, 1101: 429, 1102: 429, 1103: 403,
    1200: 400, 1201: 400, 1202: 404, 1203: 404,
    1300: 400, 1301: 400, 1302: 429, 1303: 429, 1304: 429,
    5000: 500, 5001: 503, 5002: 504,
}


def test_every_official_code_has_exactly_one_error_with_its_status():
    assert {code: cls.status for code, cls in ERRORS_BY_CODE.items()} == OFFICIAL


def test_every_error_has_a_default_message():
    for cls in ERRORS_BY_CODE.values():
        assert issubclass(cls, KlingError)
        assert cls().message == cls.default_message != ""


def test_error_for_code_keeps_the_message_and_maps_unknown_codes_to_5000():
    assert error_for_code(1303, "busy").message == "busy"
    assert type(error_for_code(1303)).code == 1303
    unknown = error_for_code(4242, "strange")
    assert isinstance(unknown, InternalError) and unknown.message == "strange"
