"""Charging a request: the price table, the token's model allow-list, refusals and refunds."""

from __future__ import annotations

import pytest

from kling_gateway.domain.errors import PermissionDenied, ResourcePackExhausted
from kling_gateway.services import accounts, billing, prices
from kling_gateway.services.auth import authenticate
from kling_gateway.storage.ledger import balance_matches_ledger
from kling_gateway.storage.models import LedgerEntry, User

CNY = 10_000


@pytest.fixture
def caller(db):
    accounts.create_user("ada", balance=100 * CNY)
    return authenticate(f"Bearer {accounts.create_token('ada').api_key}")


def test_bill_uses_the_seeded_price_and_multiplies_images(caller):
    video = billing.bill_for("text2video", {"prompt": "x", "mode": "pro"}, caller)
    images = billing.bill_for("image-generation", {"prompt": "x", "n": 3,
                                                   "model_name": "kling-v1-5"}, caller)
    assert (video.key, video.total) == ("kling-video_kling-v1_pro_5", 15 * CNY)
    assert (images.unit_price, images.total) == (5 * CNY, 15 * CNY)


def test_a_video_without_an_exact_price_is_charged_its_rate_per_second(caller):
    bill = billing.bill_for("text2video", {"prompt": "x", "model_name": "kling-v3",
                                           "mode": "pro", "sound": "on", "duration": "15"},
                            caller)
    assert (bill.key, bill.unit_price, bill.total) == ("kling-video_kling-v3_pro_sound",
                                                       12_000, 18 * CNY)
    prices.set_price("kling-video_kling-v3_pro_15_sound", 17 * CNY)  # an exact price wins
    exact = billing.bill_for("text2video", {"prompt": "x", "model_name": "kling-v3",
                                            "mode": "pro", "sound": "on", "duration": "15"},
                             caller)
    assert (exact.key, exact.total) == ("kling-video_kling-v3_pro_15_sound", 17 * CNY)


def test_unpriced_model_is_1103_naming_it_and_charges_nothing(caller):
    with pytest.raises(PermissionDenied, match=r"model kling-v4 for text2video \(std, 5 s\) is "
                       "not priced on this gateway; an operator enables it with: kling-gateway "
                       "admin price set kling-video_kling-v4_std <CNY per second>"):
        billing.bill_for("text2video", {"prompt": "x", "model_name": "kling-v4"}, caller)
    assert LedgerEntry.select().where(LedgerEntry.kind == "charge").count() == 0


def test_a_price_set_is_billable_at_once(caller):
    body = {"prompt": "x", "model_name": "kling-v4", "mode": "pro", "duration": "6"}
    with pytest.raises(PermissionDenied):
        billing.bill_for("text2video", body, caller)
    prices.set_price("kling-video_kling-v4_pro", 1 * CNY)
    assert billing.bill_for("text2video", body, caller).total == 6 * CNY


def test_free_selection_operations_cost_nothing_until_priced(caller):
    bill = billing.bill_for("clear-selection", {"session_id": "1"}, caller)
    assert bill.total == 0 and billing.charge(caller, bill) is None
    prices.set_price("kling-clear-selection", 1 * CNY)
    assert billing.bill_for("clear-selection", {}, caller).total == 1 * CNY


def test_token_model_allow_list_is_1103(db):
    accounts.create_user("bob", balance=100 * CNY)
    issued = accounts.create_token("bob", allowed_models=["kling-v1-6"])
    limited = authenticate(f"Bearer {issued.api_key}")
    billing.bill_for("text2video", {"prompt": "x", "model_name": "kling-v1-6"}, limited)
    with pytest.raises(PermissionDenied, match="kling-v1 is not allowed"):
        billing.bill_for("text2video", {"prompt": "x"}, limited)


def test_insufficient_balance_is_1102_with_amounts(caller):
    bill = billing.bill_for("multi-elements", {"mode": "pro", "duration": "10"}, caller)
    with pytest.raises(ResourcePackExhausted, match=r"300\.00 CNY needed, 100\.00 CNY available"):
        billing.charge(caller, bill)
    assert User.get_by_id(caller.user_id).balance == 100 * CNY


def test_charge_then_refund_once(caller):
    bill = billing.bill_for("image-generation", {"prompt": "x", "n": 2,
                                                 "model_name": "kling-v1"}, caller)
    charge = billing.charge(caller, bill)
    assert User.get_by_id(caller.user_id).balance == 90 * CNY
    assert billing.refund(charge.id, "upstream refused") is True
    assert billing.refund(charge.id, "again") is False
    assert User.get_by_id(caller.user_id).balance == 100 * CNY
    assert balance_matches_ledger(caller.user_id)
