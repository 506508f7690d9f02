"""Price keys for every endpoint, with the official defaults applied first."""

from __future__ import annotations

import pytest

from kling_gateway.domain.pricing import canonical_price_key, default_prices, price_quote


@pytest.mark.parametrize(("operation", "body", "key", "quantity"), [
    ("text2video", {"prompt": "x"}, "kling-video_kling-v1_std_5", 1),
    ("text2video", {"model_name": "kling-v2-master", "mode": "pro", "duration": "10"},
     "kling-video_kling-v2-master_pro_10", 1),
    ("text2video", {"model": "kling-v1-6"}, "kling-video_kling-v1_std_5", 1),  # legacy field
    ("image2video", {"model_name": "kling-v1-5", "mode": "pro"}, "kling-video_kling-v1-5_pro_5", 1),
    ("multi-image2video", {"duration": "10"}, "kling-multi-image2video_kling-v1-6_std_10", 1),
    ("image-generation", {"prompt": "x"}, "kling-image_kling-v1", 1),
    ("image-generation", {"model_name": "kling-v1-5", "n": 4}, "kling-image_kling-v1-5", 4),
    ("image-generation", {"resolution": "2k", "n": 2}, "kling-image_kling-v1_2k", 2),
    ("image-generation", {"resolution": "1k"}, "kling-image_kling-v1", 1),
    ("multi-image2image", {"n": 3}, "kling-multi-image2image_kling-v2", 3),
    ("multi-elements", {"mode": "pro"}, "kling-multi-elements_kling-v1-6_pro_5", 1),
    ("init-selection", {"video_url": "u"}, "kling-init-selection", 1),
    ("add-selection", {}, "kling-add-selection", 1),
    ("preview-selection", {}, "kling-preview-selection", 1),
])
def test_price_key(operation, body, key, quantity):
    quote = price_quote(operation, body)
    assert (quote.key, quote.quantity) == (key, quantity)


def test_only_init_and_add_selection_are_charged_without_a_price():
    assert not price_quote("init-selection", {}).free_without_price
    assert not price_quote("add-selection", {}).free_without_price
    for operation in ("delete-selection", "clear-selection", "preview-selection"):
        assert price_quote(operation, {}).free_without_price
    assert not price_quote("text2video", {}).free_without_price


def test_defaults_cover_the_product_brief():
    prices = default_prices()
    assert prices["kling-video_kling-v1_std_5"] == 5
    assert prices["kling-video_kling-v1-5_pro_10"] == 30
    assert prices["kling-video_kling-v1-6_std_10"] == 20
    assert prices["kling-video_kling-v2-1-master_pro_5"] == 45
    assert prices["kling-image_kling-v2-master"] == 15
    assert prices["kling-image_kling-v1-6_2k"] == 30
    assert prices["kling-multi-image2video_kling-v1-6_pro_10"] == 180
    assert prices["kling-multi-image2image_kling-v2"] == 30
    assert prices["kling-multi-elements_kling-v1-6_std_10"] == 100
    assert (prices["kling-init-selection"], prices["kling-add-selection"]) == (5, 2)
    assert len(prices) == 5 * 4 + 4 + 4 + 5 * 2 + 3


def test_every_default_key_is_one_a_request_can_produce():
    produced = {price_quote(op, {"model_name": model, "mode": mode, "duration": duration,
                                 "resolution": resolution}).key
                for op in ("text2video", "multi-image2video", "multi-elements")
                for model in ("kling-v1", "kling-v1-5", "kling-v1-6", "kling-v2-master",
                              "kling-v2-1-master")
                for mode in ("std", "pro") for duration in ("5", "10") for resolution in ("1k",)}
    produced |= {price_quote("image-generation", {"model_name": m, "resolution": r}).key
                 for m in ("kling-v1", "kling-v1-5", "kling-v1-6", "kling-v2-master",
                           "kling-v2-1-master") for r in ("1k", "2k")}
    produced |= {price_quote(op, {}).key for op in ("multi-image2image", "init-selection",
                                                   "add-selection")}
    assert set(default_prices()) <= produced


def test_dotted_model_aliases_are_canonical():
    assert canonical_price_key("kling-video_kling-v1.5_std_5") == "kling-video_kling-v1-5_std_5"
    assert canonical_price_key(" kling-image_kling-v2.1-master ") == "kling-image_kling-v2-1-master"
    assert canonical_price_key("kling-video_kling-v1_std_5") == "kling-video_kling-v1_std_5"
