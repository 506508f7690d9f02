"""Messages of schema violations: name the field, never echo a secret or a huge value."""

from __future__ import annotations

import jsonschema

from kling_gateway.domain.strict_json import field_path
from kling_gateway.web.validation import describe


def first_error(schema: dict, instance: object) -> jsonschema.ValidationError:
    return next(jsonschema.Draft4Validator(schema).iter_errors(instance))


def test_field_path_names_nested_items():
    assert field_path(["image_list", 0, "image"]) == "image_list[0].image"


def test_a_short_value_is_quoted():
    error = first_error({"properties": {"mode": {"enum": ["std", "pro"]}}}, {"mode": "fast"})
    assert describe(error) == "invalid parameter 'mode': 'fast' is not one of ['std', 'pro']"


def test_a_secret_is_never_quoted():
    error = first_error({"properties": {"secret_key": {"maxLength": 4}}},
                        {"secret_key": "hunter2-hunter2"})
    assert "hunter2" not in describe(error)
    assert describe(error).startswith("invalid parameter 'secret_key': the value is too long")


def test_a_huge_value_is_summarised():
    error = first_error({"properties": {"prompt": {"maxLength": 2500}}}, {"prompt": "x" * 5000})
    assert len(describe(error)) < 200
    assert "5002 characters" in describe(error)


def test_a_missing_field_is_named_with_its_parent():
    error = first_error({"properties": {"a": {"required": ["b"]}}}, {"a": {}})
    assert describe(error) == "missing required parameter 'a.b'"
