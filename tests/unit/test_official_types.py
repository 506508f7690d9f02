"""Other forms of a value become the official type, once, without touching the caller's body."""

from __future__ import annotations

import copy

import pytest

from kling_gateway.domain.official_types import to_official


def test_every_other_form_becomes_the_official_type():
    body = {"prompt": "x", "n": "9", "duration": 10, "multi_shot": "true",
            "multi_prompt": [{"index": 1, "prompt": "a", "duration": 4},
                             {"index": 2, "prompt": "b", "duration": "6"}],
            "element_list": [{"element_id": "160"}, {"element_id": 161}]}
    sent = copy.deepcopy(body)

    official = to_official(body)

    assert official == {"prompt": "x", "n": 9, "duration": "10", "multi_shot": True,
                        "multi_prompt": [{"index": 1, "prompt": "a", "duration": "4"},
                                         {"index": 2, "prompt": "b", "duration": "6"}],
                        "element_list": [{"element_id": 160}, {"element_id": 161}]}
    assert list(official) == list(body)  # forwarded in the client's order
    assert body == sent  # the caller's dict is left as it was


@pytest.mark.parametrize("body", [
    {"prompt": "x"},
    {"n": 2, "duration": "5", "multi_shot": False, "element_list": [{"element_id": 1}]},
    # No form the contract accepts (it refused them before this runs): left for it to judge.
    {"n": "²", "duration": True, "multi_shot": "yes", "element_list": "not a list",
     "multi_prompt": [None]},
], ids=["absent", "official", "unknown-forms"])
def test_official_values_and_unknown_forms_stay_as_they_are(body):
    assert to_official(body) == body
