"""Money on both backends: exact, atomic, never below zero, refunds at most once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from peewee import IntegrityError

from kling_gateway.domain.errors import InvalidParameter, ResourcePackExhausted
from kling_gateway.domain.ledger import EntryKind
from kling_gateway.services import accounts
from kling_gateway.storage import ledger
from kling_gateway.storage.db import database
from kling_gateway.storage.models import ApiToken, LedgerEntry, User
from kling_gateway.storage.records import LedgerRecord

CNY = 10_000


@pytest.fixture(autouse=True)
def books_balance(db):
    """After every scenario, each user's ledger adds up to their balance."""
    yield
    for user in User.select():
        assert ledger.balance_matches_ledger(user.id), user.name


def in_parallel(count: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work`` in ``count`` threads released at the same moment, each with its own
    database connection; returns each result or the exception it raised."""
    start = threading.Barrier(count)

    def run(index: int) -> object:
        start.wait()
        try:
            return work(index)
        except Exception as exc:  # collected, asserted on by the caller
            return exc
        finally:
            database.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_opening_balance_is_a_topup_entry(db):
    user = accounts.create_user("ada", balance=50 * CNY)
    (entry,) = LedgerEntry.select().where(LedgerEntry.user == user.id)
    assert (user.balance, entry.kind, entry.amount, entry.balance_after) == (
        50 * CNY, EntryKind.TOPUP, 50 * CNY, 50 * CNY)


def test_charge_and_refund_restore_exactly_what_was_charged(db):
    user = accounts.create_user("ada", balance=10 * CNY)
    charge = ledger.debit(user.id, 3 * CNY + 1, price_key="kling-video_kling-v1_std_5")
    assert charge.amount == -(3 * CNY + 1) and charge.balance_after == 7 * CNY - 1

    refund = ledger.refund(charge.id, note="upstream refused")
    assert refund.amount == 3 * CNY + 1 and refund.refund_of_id == charge.id
    assert refund.balance_after == 10 * CNY
    assert ledger.refund(charge.id) is None  # the second refund does nothing
    assert User.get_by_id(user.id).balance == 10 * CNY


def test_charge_never_takes_the_balance_below_zero(db):
    user = accounts.create_user("ada", balance=5 * CNY)
    with pytest.raises(ResourcePackExhausted, match=r"6\.00 CNY needed, 5\.00 CNY available"):
        ledger.debit(user.id, 6 * CNY)
    assert User.get_by_id(user.id).balance == 5 * CNY
    assert ledger.debit(user.id, 5 * CNY).balance_after == 0


def test_token_spend_limit_is_enforced_and_refunds_give_it_back(db):
    user = accounts.create_user("ada", balance=100 * CNY)
    token = accounts.create_token("ada", spend_limit=10 * CNY).token
    first = ledger.debit(user.id, 6 * CNY, token_id=token.id)
    with pytest.raises(ResourcePackExhausted, match="spend limit"):
        ledger.debit(user.id, 6 * CNY, token_id=token.id)
    assert User.get_by_id(user.id).balance == 94 * CNY  # the refused charge left no trace

    ledger.refund(first.id)
    assert ApiToken.get_by_id(token.id).spent == 0
    ledger.debit(user.id, 10 * CNY, token_id=token.id)


def test_adjustments_move_either_way_but_not_below_zero(db):
    accounts.create_user("ada", balance=2 * CNY)
    accounts.adjust("ada", -2 * CNY, "goodwill reversal")
    with pytest.raises(InvalidParameter, match="below zero"):
        accounts.adjust("ada", -1, "too much")
    accounts.top_up("ada", 1 * CNY, "invoice 7")
    assert User.get(User.name == "ada").balance == 1 * CNY


def test_the_database_refuses_a_second_refund_row(db):
    user = accounts.create_user("ada", balance=10 * CNY)
    charge = ledger.debit(user.id, 1 * CNY)
    ledger.refund(charge.id)
    with pytest.raises(IntegrityError), database.atomic():
        LedgerEntry.create(user=user.id, kind=EntryKind.REFUND, amount=1 * CNY,
                           balance_after=0, refund_of=charge.id, created_at=0)


def test_the_database_refuses_a_negative_balance(db):
    user = accounts.create_user("ada")
    with pytest.raises(IntegrityError), database.atomic():
        User.update(balance=-1).where(User.id == user.id).execute()


def test_50_parallel_charges_against_a_balance_for_10(db):
    user = accounts.create_user("ada", balance=10 * 3 * CNY)
    outcomes = in_parallel(50, lambda _: ledger.debit(user.id, 3 * CNY))

    charged = [o for o in outcomes if isinstance(o, LedgerRecord)]
    refused = [o for o in outcomes if isinstance(o, ResourcePackExhausted)]
    assert (len(charged), len(refused)) == (10, 40), outcomes
    assert User.get_by_id(user.id).balance == 0
    assert sorted(entry.balance_after for entry in charged) == [i * 3 * CNY for i in range(10)]


def test_20_parallel_refunds_of_one_charge_apply_once(db):
    user = accounts.create_user("ada", balance=10 * CNY)
    charge = ledger.debit(user.id, 4 * CNY)
    outcomes = in_parallel(20, lambda _: ledger.refund(charge.id))

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert len([o for o in outcomes if isinstance(o, LedgerRecord)]) == 1
    assert User.get_by_id(user.id).balance == 10 * CNY


def test_parallel_charges_respect_the_token_limit(db):
    user = accounts.create_user("ada", balance=1000 * CNY)
    token = accounts.create_token("ada", spend_limit=5 * CNY).token
    outcomes = in_parallel(20, lambda _: ledger.debit(user.id, 1 * CNY, token_id=token.id))

    assert len([o for o in outcomes if isinstance(o, LedgerRecord)]) == 5
    assert ApiToken.get_by_id(token.id).spent == 5 * CNY
    assert User.get_by_id(user.id).balance == 995 * CNY
