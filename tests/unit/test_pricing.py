"""Price keys: what a request costs (with Kling's defaults applied first), what a key sells, the
grammar that refuses keys no request produces, and the seeded table."""

from __future__ import annotations

import itertools

import pytest

from kling_gateway.domain import families
from kling_gateway.domain.errors import InvalidParameter
from kling_gateway.domain.pricing import (
    Per,
    SourceVideo,
    canonical_price_key,
    describe_price_key,
    parse_price_key,
    price_quote,
    priced_body,
    seconds_made,
    settled_amount,
)
from kling_gateway.domain.seed_prices import brief_prices, default_prices, kling_list_prices

CNY = 10_000


@pytest.mark.parametrize(("operation", "body", "keys", "quantity"), [
    ("text2video", {"prompt": "x"},
     ["kling-video_kling-v1_std_5", "kling-video_kling-v1_std"], 5),
    ("text2video", {"model_name": "kling-v2-master", "mode": "pro", "duration": "10"},
     ["kling-video_kling-v2-master_pro_10", "kling-video_kling-v2-master_pro"], 10),
    ("text2video", {"model": "kling-v1-6"},  # the legacy field counts as no model_name
     ["kling-video_kling-v1_std_5", "kling-video_kling-v1_std"], 5),
    ("text2video", {"model_name": "kling-v3", "mode": "pro", "duration": "15", "sound": "on"},
     ["kling-video_kling-v3_pro_15_sound", "kling-video_kling-v3_pro_sound"], 15),
    ("text2video", {"model_name": "kling-v3", "duration": 7, "sound": "off"},  # int form too
     ["kling-video_kling-v3_std_7", "kling-video_kling-v3_std"], 7),
    ("image2video", {"model_name": "kling-v2-6", "mode": "pro", "sound": "on",
                     "voice_list": [{"voice_id": "v"}]},
     ["kling-video_kling-v2-6_pro_5_voice", "kling-video_kling-v2-6_pro_voice"], 5),
    ("image2video", {"model_name": "kling-v1-5", "mode": "pro"},
     ["kling-video_kling-v1-5_pro_5", "kling-video_kling-v1-5_pro"], 5),
    ("multi-image2video", {"duration": "10"},
     ["kling-multi-image2video_kling-v1-6_std_10", "kling-multi-image2video_kling-v1-6_std"],
     10),
    ("multi-elements", {"mode": "pro", "sound": "on"},  # no audio option on edits
     ["kling-multi-elements_kling-v1-6_pro_5", "kling-multi-elements_kling-v1-6_pro"], 5),
    ("image-generation", {"prompt": "x"}, ["kling-image_kling-v3"], 1),
    ("image-generation", {"model_name": "kling-v1-5", "n": 4}, ["kling-image_kling-v1-5"], 4),
    ("image-generation", {"model_name": "kling-v2-1", "resolution": "2k", "n": "2",
                          "image": "https://x/y.png"}, ["kling-image_kling-v2-1_2k_i2i"], 2),
    ("image-generation", {"resolution": "1k", "image": ""}, ["kling-image_kling-v3"], 1),
    ("multi-image2image", {"n": 3}, ["kling-multi-image2image_kling-v2-1"], 3),
    ("multi-image2image", {"model_name": "kling-v2"}, ["kling-multi-image2image_kling-v2"], 1),
    ("init-selection", {"video_url": "u"}, ["kling-init-selection"], 1),
    ("add-selection", {}, ["kling-add-selection"], 1),
    ("preview-selection", {}, ["kling-preview-selection"], 1),
])
def test_a_request_is_priced_by_its_exact_key_then_its_rate(operation, body, keys, quantity):
    quote = price_quote(operation, body)
    assert [str(key) for key in quote.keys] == keys
    assert quote.quantity(quote.keys[-1]) == quantity
    assert quote.quantity(quote.keys[0]) == (quantity if len(keys) == 1 else 1)


def test_only_init_and_add_selection_are_charged_without_a_price():
    assert not price_quote("init-selection", {}).free_without_price
    assert not price_quote("add-selection", {}).free_without_price
    for operation in ("delete-selection", "clear-selection", "preview-selection"):
        assert price_quote(operation, {}).free_without_price
    assert not price_quote("text2video", {}).free_without_price


@pytest.mark.parametrize(("operation", "body", "explicit"), [
    ("text2video", {"prompt": "x"},
     {"model_name": "kling-v1", "mode": "std", "duration": "5"}),
    ("text2video", {"prompt": "x", "model_name": "", "mode": "pro", "duration": 10},
     {"model_name": "kling-v1", "mode": "pro", "duration": 10}),  # given values stay as sent
    ("image2video", {"image": "u", "model": "kling-v1-6"},
     {"model_name": "kling-v1", "mode": "std", "duration": "5"}),
    ("multi-image2video", {"prompt": "x"},
     {"model_name": "kling-v1-6", "mode": "std", "duration": "5"}),
    ("multi-elements", {"session_id": "s"},
     {"model_name": "kling-v1-6", "mode": "std", "duration": "5"}),
    ("image-generation", {"prompt": "x"},
     {"model_name": "kling-v3", "resolution": "1k", "n": 1}),
    ("image-generation", {"prompt": "x", "n": "3", "resolution": "2k"},
     {"model_name": "kling-v3", "resolution": "2k", "n": "3"}),
    ("multi-image2image", {"subject_image_list": []}, {"model_name": "kling-v2-1", "n": 1}),
])
def test_every_priced_default_is_written_into_the_body(operation, body, explicit):
    quote = price_quote(operation, body)
    written = priced_body(body, quote)
    assert written == {**body, **explicit}
    assert price_quote(operation, written) == quote  # charged the same as it will run
    assert priced_body(written, quote) is written  # nothing left to fill


def test_the_quote_records_what_it_charged_for():
    quote = price_quote("text2video", {"model_name": "kling-v3", "duration": "12"})
    assert (quote.model_name, quote.mode, quote.duration) == ("kling-v3", "std", "12")
    assert [key.per for key in quote.keys] == [Per.CALL, Per.SECOND]


def test_an_unpriced_request_names_the_model_and_the_key_to_set():
    video = price_quote("text2video", {"model_name": "kling-v4", "mode": "pro", "sound": "on"})
    assert video.unpriced_message() == (
        "model kling-v4 for text2video (pro, 5 s, sound on) is not priced on this gateway; an "
        "operator enables it with: kling-gateway admin price set kling-video_kling-v4_pro_sound "
        "<CNY per second>")
    image = price_quote("image-generation", {"model_name": "kling-v9", "image": "u"})
    assert image.unpriced_message().endswith(
        "kling-gateway admin price set kling-image_kling-v9_i2i <CNY per image>")
    assert "model kling-v9 for image-generation (image to image)" in image.unpriced_message()
    selection = price_quote("init-selection", {})
    assert selection.unpriced_message().startswith("init-selection is not priced")
    odd = price_quote("text2video", {"model_name": "my_model"})
    assert "cannot be priced" in odd.unpriced_message()


# ---- the key grammar ------------------------------------------------------------------------

GOOD_KEYS = [
    ("kling-video_kling-v1_std_5", Per.CALL), ("kling-video_kling-v3_pro_15_sound", Per.CALL),
    ("kling-video_kling-v3_pro_sound", Per.SECOND), ("kling-video_kling-v2-6_pro_voice",
                                                     Per.SECOND),
    ("kling-video_kling-v9-turbo_std_3", Per.CALL),  # models are open
    ("kling-multi-image2video_kling-v1-6_pro_10", Per.CALL),
    ("kling-multi-elements_kling-v1-6_std", Per.SECOND),
    ("kling-image_kling-v3", Per.IMAGE), ("kling-image_kling-v2-1_2k_i2i", Per.IMAGE),
    ("kling-image_kling-v1_i2i", Per.IMAGE), ("kling-multi-image2image_kling-v2", Per.IMAGE),
    ("kling-init-selection", Per.CALL), ("kling-clear-selection", Per.CALL),
]


@pytest.mark.parametrize(("key", "per"), GOOD_KEYS)
def test_a_key_reads_back_as_itself(key, per):
    parsed = parse_price_key(key)
    assert str(parsed) == key and parsed.per is per


@pytest.mark.parametrize(("key", "reason"), [
    ("kling-custom_a", "'kling-custom' is not a price key prefix"),
    ("kling-videos_kling-v1_std_5", "'kling-videos' is not a price key prefix"),
    ("kling-video_kling-v1", "a mode (std or pro) must follow the model"),
    ("kling-video_kling-v1_5", "a mode (std or pro) must follow the model"),
    ("kling-video__std_5", "it names no model"),
    ("kling-image", "it names no model"),
    ("kling-video_kling-v1_std_2", "'2' is not a length in seconds of kling-video videos (3-15)"),
    ("kling-video_kling-v1_std_16", "(3-15)"),
    ("kling-video_kling-v1_std_05", "'05' is not a length"),
    ("kling-multi-elements_kling-v1-6_std_7", "(5|10)"),
    ("kling-video_kling-v1_std_5_loud", "'loud' is not an option of kling-video keys"),
    ("kling-video_kling-v1_std_5_sound_voice", "'voice' is not an option"),
    ("kling-video_kling-v1_std_sound_5", "'5' is not an option"),
    ("kling-image_kling-v1_i2i_2k", "'2k' is not an option of kling-image keys, or is out"),
    ("kling-image_kling-v1_2k_2k", "'2k' is not an option"),
    ("kling-multi-image2image_kling-v2_2k", "'2k' is not an option"),
    ("kling-multi-image2video_kling-v1-6_std_5_sound", "'sound' is not an option"),
    ("kling-init-selection_x", "'kling-init-selection' is a whole key"),
])
def test_a_key_no_request_produces_is_refused_saying_what_a_key_looks_like(key, reason):
    with pytest.raises(InvalidParameter) as refused:
        parse_price_key(key)
    message = refused.value.message
    assert message.startswith(f"invalid parameter 'key': no request produces '{key}': ")
    assert reason in message
    assert "kling-video_{model}_{std|pro}[_{3-15}][_sound|_voice]" in message
    assert "kling-image_{model}[_2k][_i2i]" in message
    assert describe_price_key(key).per is None
    assert describe_price_key(key).note.startswith("no request produces this key: ")


def test_dotted_model_aliases_are_canonical():
    assert canonical_price_key("kling-video_kling-v1.5_std_5") == "kling-video_kling-v1-5_std_5"
    assert canonical_price_key(" kling-image_kling-v2.1-master ") == "kling-image_kling-v2-1-master"
    assert canonical_price_key("kling-video_kling-v1_std_5") == "kling-video_kling-v1_std_5"


def test_a_dotted_model_name_in_a_request_looks_up_the_key_the_table_stores():
    quote = price_quote("text2video", {"model_name": "kling-v2.5-turbo", "mode": "pro"})
    assert [str(key) for key in quote.keys] == ["kling-video_kling-v2-5-turbo_pro_5",
                                                "kling-video_kling-v2-5-turbo_pro"]
    assert quote.model_name == "kling-v2.5-turbo"  # sent to Kling as the client wrote it
    image = price_quote("image-generation", {"model_name": "kling-v2.1"})
    assert [str(key) for key in image.keys] == ["kling-image_kling-v2-1"]


def test_a_key_is_described_by_the_families_kling_documents_its_model_for():
    v15 = describe_price_key("kling-video_kling-v1-5_pro_10")
    assert (v15.families, v15.model, v15.mode, v15.seconds, v15.per, v15.note) == (
        ("image2video",), "kling-v1-5", "pro", 10, Per.CALL, None)
    v3 = describe_price_key("kling-video_kling-v3_std_sound")
    assert (v3.families, v3.options, v3.per) == (("text2video", "image2video"), ("sound",),
                                                 Per.SECOND)
    odd = describe_price_key("kling-image_kling-v2-master_2k")
    assert odd.families == ("image-generation",) and odd.per is Per.IMAGE
    assert odd.note == "Kling documents no model kling-v2-master for image-generation"
    assert describe_price_key("kling-init-selection").families == ("init-selection",)


# ---- the seeded table -----------------------------------------------------------------------


def test_the_brief_prices_are_the_41_seeded_before():
    prices = brief_prices()
    assert len(prices) == 41
    assert prices["kling-video_kling-v1_std_5"] == 5 * CNY
    assert prices["kling-video_kling-v1-5_pro_10"] == 30 * CNY
    assert prices["kling-video_kling-v1-6_std_10"] == 20 * CNY
    assert prices["kling-video_kling-v2-1-master_pro_5"] == 45 * CNY
    assert prices["kling-image_kling-v2-master"] == 15 * CNY
    assert prices["kling-image_kling-v1-6_2k"] == 30 * CNY
    assert prices["kling-multi-image2video_kling-v1-6_pro_10"] == 180 * CNY
    assert prices["kling-multi-image2image_kling-v2"] == 30 * CNY
    assert prices["kling-multi-elements_kling-v1-6_std_10"] == 100 * CNY
    assert (prices["kling-init-selection"], prices["kling-add-selection"]) == (5 * CNY, 2 * CNY)


def test_kling_list_prices_follow_the_conversion_table():
    prices = kling_list_prices()
    assert prices["kling-video_kling-v3_pro_sound"] == 12_000  # 1.2 U/s at ¥1 a unit
    assert prices["kling-video_kling-v1_std"] == 2_000  # 0.2 U/s
    assert prices["kling-video_kling-v2-6_pro_voice"] == 12_000
    assert prices["kling-video_kling-v2-master_pro"] == prices["kling-video_kling-v2-master_std"]
    assert prices["kling-image_kling-v1_i2i"] == 300  # 1 U at ¥0.025, up to the fen
    assert prices["kling-image_kling-v2"] == 1_000  # 4 U
    assert prices["kling-image_kling-v2-1_2k_i2i"] == 2_000  # 8 U
    assert prices["kling-multi-image2image_kling-v2-1"] == 4_000  # 16 U
    assert all(amount % 100 == 0 for amount in prices.values())  # whole fen


def test_the_brief_wins_over_kling_where_both_price_a_key():
    table = default_prices()
    # the first six families, six served next, motion control, lip-sync and the video tools,
    # then TTS, custom voices and elements, image recognition, then avatar
    assert len(table) == 78 + 18 + 4 + 7 + 4 + 2
    assert table["kling-image_kling-v1"] == 5 * CNY  # the brief's, not Kling's ¥0.03
    assert table["kling-multi-image2image_kling-v2"] == 30 * CNY


def test_every_seeded_key_reads_back_and_is_produced_by_a_documented_request():
    produced: set[str] = set()
    for family in ("text2video", "image2video"):
        models = families.named(family).pricing.models
        for model, mode, seconds, audio in itertools.product(
                models, ("std", "pro"), range(3, 16), ("off", "on", "voice")):
            body = {"model_name": model, "mode": mode, "duration": str(seconds),
                    "sound": "off" if audio == "off" else "on"}
            if audio == "voice":
                body["voice_list"] = [{"voice_id": "v"}]
            produced.update(str(key) for key in price_quote(family, body).keys)
    for family in ("multi-image2video", "multi-elements"):
        for mode, seconds in itertools.product(("std", "pro"), ("5", "10")):
            body = {"model_name": "kling-v1-6", "mode": mode, "duration": seconds}
            produced.update(str(key) for key in price_quote(family, body).keys)
    for model, resolution, image in itertools.product(
            families.named("image-generation").pricing.models, ("1k", "2k"),
            ("", "https://x/y.png")):
        body = {"model_name": model, "resolution": resolution, "image": image}
        produced.update(str(key) for key in price_quote("image-generation", body).keys)
    for model in families.named("multi-image2image").pricing.models:
        produced.update(str(k) for k in price_quote("multi-image2image",
                                                    {"model_name": model}).keys)
    for model, mode, seconds, extra in itertools.product(
            families.named("omni-video").pricing.models, ("std", "pro"), range(3, 16),
            ({}, {"sound": "on"}, {"video_list": [{"video_url": "https://x/v.mp4"}]})):
        body = {"model_name": model, "mode": mode, "duration": str(seconds), **extra}
        produced.update(str(key) for key in price_quote("omni-video", body).keys)
    for model, resolution in itertools.product(
            families.named("omni-image").pricing.models, ("1k", "2k", "4k")):
        body = {"model_name": model, "resolution": resolution}
        produced.update(str(key) for key in price_quote("omni-image", body).keys)
    for model in families.named("kolors-virtual-try-on").pricing.models:
        produced.update(str(k) for k in price_quote("kolors-virtual-try-on",
                                                    {"model_name": model}).keys)
    for family, body in (("effects", {"input": {"duration": "5"}}), ("image-expand", {}),
                         ("text-to-audio", {"duration": 5}), ("custom-voices", {}),
                         ("custom-elements", {}), ("tts", {}), ("image-recognize", {})):
        produced.update(str(key) for key in price_quote(family, body).keys)
    for model, mode, orientation in itertools.product(
            families.named("motion-control").pricing.models, ("std", "pro"), ("image", "video")):
        body = {"model_name": model, "mode": mode, "character_orientation": orientation}
        produced.update(str(key) for key in price_quote("motion-control", body).keys)
    produced |= {"kling-init-selection", "kling-add-selection"}
    for mode in ("std", "pro"):
        produced.update(str(key) for key in price_quote(
            "video-extend", {"video_id": "v"}, SourceVideo(mode=mode)).keys)
        produced.update(str(key) for key in price_quote(
            "avatar", {"image": "u", "sound_file": "https://x/a.mp3", "mode": mode}).keys)
    for family, body, source in (
            ("lip-sync", {"input": {"video_id": "v"}}, SourceVideo(seconds=5.0)),
            ("lip-sync", {"input": {"video_url": "https://x/v.mp4"}}, None),
            ("video-to-audio", {"video_url": "https://x/v.mp4"}, None),
            ("advanced-lip-sync", {"face_choose": [{"sound_start_time": 0,
                                                    "sound_end_time": 3000}]}, None),
            ("identify-face", {"video_url": "https://x/v.mp4"}, None)):
        produced.update(str(key) for key in price_quote(family, body, source).keys)

    table = default_prices()
    assert all(str(parse_price_key(key)) == key for key in table)
    unreachable = set(table) - produced
    assert unreachable == {f"kling-image_{model}{size}" for size in ("", "_2k")
                           for model in ("kling-v1-6", "kling-v2-master", "kling-v2-1-master")}
    for key in unreachable:  # reported as such by `admin price list`
        assert describe_price_key(key).note.startswith("Kling documents no model")
    for key in produced & set(table):
        assert describe_price_key(key).note is None


def test_a_video_whose_length_kling_decides_is_charged_for_the_longest_and_settled():
    body = {"model_name": "kling-v3", "mode": "pro", "character_orientation": "video"}
    quote = price_quote("motion-control", body)
    assert [str(key) for key in quote.keys] == ["kling-motion-control_kling-v3_pro"]
    assert quote.duration == "30" and quote.quantity(quote.keys[0]) == 30
    assert dict(quote.priced_fields) == {"model_name": "kling-v3", "mode": "pro"}
    assert price_quote("motion-control", {"character_orientation": "image"}).duration == "10"
    # ¥1.20 a second, 30 s charged, 7.2 s made: 8 started seconds are kept
    assert seconds_made({"videos": [{"id": "v", "duration": "7.2"}]}) == 8
    assert settled_amount(30 * 12_000, 30, 8) == 8 * 12_000
    assert settled_amount(10 * 12_000, 10, 12) == 10 * 12_000  # never more than charged
    assert seconds_made({"videos": []}) is None and seconds_made(None) is None


def test_video_extend_is_priced_per_call_in_the_mode_of_its_source():
    assert str(price_quote("video-extend", {"video_id": "v"},
                           SourceVideo(mode="pro")).keys[0]) == "kling-video-extend_pro"
    quote = price_quote("video-extend", {"video_id": "v"})  # unknown source: Kling's default
    assert (str(quote.keys[0]), quote.mode, quote.priced_fields) == (
        "kling-video-extend_std", "std", ())  # the body gets no mode: Kling has none here
    assert describe_price_key("kling-video-extend_pro").per is Per.CALL
    for wrong in ("kling-video-extend", "kling-video-extend_fast", "kling-video-extend_std_5"):
        with pytest.raises(InvalidParameter, match="a mode"):
            parse_price_key(wrong)


def test_an_avatar_is_priced_per_second_in_its_mode_for_its_audio_or_the_longest():
    spoken = price_quote("avatar", {"image": "u", "audio_id": "a"}, SourceVideo(seconds=3.2))
    assert (spoken.duration, spoken.quantity(spoken.keys[0])) == ("4", 4)  # started seconds
    quote = price_quote("avatar", {"image": "u", "audio_id": "a"})  # length unknown
    (key,) = quote.keys
    assert (str(key), key.per, quote.mode, quote.duration) == (
        "kling-avatar_std", Per.SECOND, "std", "300")
    assert quote.quantity(key) == 300
    assert dict(quote.priced_fields) == {"mode": "std"}  # sent to Kling as charged
    pro = price_quote("avatar", {"image": "u", "sound_file": "https://x/a.mp3", "mode": "pro"})
    assert str(pro.keys[0]) == "kling-avatar_pro"
    assert describe_price_key("kling-avatar_pro").families == ("avatar",)
    assert describe_price_key("kling-avatar_pro").per is Per.SECOND
    for wrong in ("kling-avatar", "kling-avatar_fast", "kling-avatar_std_5"):
        with pytest.raises(InvalidParameter, match="a mode"):
            parse_price_key(wrong)


@pytest.mark.parametrize(("seconds", "blocks"), [(2.0, 1), (5.0, 1), (5.1, 2), (10.0, 2),
                                                  (12.0, 3)])
def test_lip_sync_is_priced_per_started_5_s_of_its_source(seconds, blocks):
    quote = price_quote("lip-sync", {"input": {"video_id": "v"}}, SourceVideo(seconds=seconds))
    (key,) = quote.keys
    assert (str(key), key.per, quote.quantity(key)) == ("kling-lip-sync", Per.STARTED_5S,
                                                        blocks)


def test_a_video_of_unknown_length_is_lip_synced_at_a_per_call_price():
    quote = price_quote("lip-sync", {"input": {"video_url": "https://x/v.mp4"}})
    (key,) = quote.keys
    assert (str(key), key.per, quote.quantity(key)) == ("kling-lip-sync-url", Per.CALL, 1)
    assert describe_price_key("kling-lip-sync-url").families == ("lip-sync",)


def test_advanced_lip_sync_is_priced_per_started_5_s_of_its_dubbed_audio():
    body = {"face_choose": [{"face_id": "0", "sound_start_time": 1000,
                             "sound_end_time": 7000, "sound_insert_time": 0}]}
    quote = price_quote("advanced-lip-sync", body)
    assert (str(quote.keys[0]), quote.quantity(quote.keys[0])) == ("kling-advanced-lip-sync", 2)


def test_identify_face_and_video_to_audio_are_priced_per_call():
    for operation, key in (("identify-face", "kling-identify-face"),
                           ("video-to-audio", "kling-video-to-audio")):
        quote = price_quote(operation, {"video_url": "https://x/v.mp4"})
        assert (str(quote.keys[0]), quote.keys[0].per, quote.free_without_price) == (
            key, Per.CALL, False)
