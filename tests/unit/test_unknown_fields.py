"""Which fields of a body the contract does not define, as the stored-body limit counts them."""

from __future__ import annotations

import pytest

from kling_gateway.domain.errors import InvalidParameter
from kling_gateway.web.validation import check_unknown_fields, unknown_fields

SCHEMA = {
    "type": "object",
    "allOf": [{"properties": {"prompt": {"type": "string"}}}],
    "properties": {
        "image_list": {"type": "array", "items": {"properties": {"image": {}}}},
        "settings": {"type": "object"},
        "labels": {"type": "object", "additionalProperties": {"properties": {"v": {}}}},
    },
}


def test_members_the_schema_does_not_name_are_unknown_at_any_depth():
    body = {"prompt": "p", "extra": 1,
            "image_list": [{"image": "u", "note": "n"}],
            "settings": {"anything": "goes"},
            "labels": {"any-name": {"v": 1, "w": 2}}}
    assert dict(unknown_fields(SCHEMA, body, ())) == {
        ("extra",): 1, ("image_list", 0, "note"): "n", ("labels", "any-name", "w"): 2}


def test_the_limit_counts_the_json_of_all_unknown_fields_together():
    body = {"prompt": "p", "a": "x" * 10, "b": "y" * 20}  # 12 and 22 bytes of JSON
    check_unknown_fields(SCHEMA, body, 34)
    with pytest.raises(InvalidParameter, match=r"'b': .* at most 33 bytes in all, .* take 34"):
        check_unknown_fields(SCHEMA, body, 33)
