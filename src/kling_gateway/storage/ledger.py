"""Balance changes: each is one transaction that moves the balance and appends its ledger entry.

Guards live in the database, not in Python: a debit is a conditional ``UPDATE … WHERE balance >=
amount`` (never read-then-write), a token's spend limit likewise, and a refund is an entry whose
``refund_of`` column is unique, so a charge can be refunded at most once however many processes
try at the same moment.
"""

from __future__ import annotations

from peewee import IntegrityError, fn

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.errors import InvalidParameter, ResourcePackExhausted
from kling_gateway.domain.ledger import EntryKind
from kling_gateway.domain.money import format_cny
from kling_gateway.storage.db import database, write_transaction
from kling_gateway.storage.models import ApiToken, LedgerEntry, User
from kling_gateway.storage.prepared import PreparedInsert, PreparedQuery
from kling_gateway.storage.records import LedgerRecord

_NEW_ENTRY = PreparedInsert(LedgerEntry)
_BALANCE_MOVE = PreparedQuery(User, lambda user_id, delta: (
    User.update(balance=User.balance + delta)
    .where((User.id == user_id) & (User.balance + delta >= 0))
    .returning(User.balance)))  # the new balance, same round trip
_TOKEN_SPEND = PreparedQuery(ApiToken, lambda token_id, amount: (
    ApiToken.update(spent=ApiToken.spent + amount)
    .where((ApiToken.id == token_id)
           & (ApiToken.spend_limit.is_null() | (ApiToken.spent + amount <= ApiToken.spend_limit)))
    .returning(ApiToken.id)))


def _record(entry: LedgerEntry) -> LedgerRecord:
    return LedgerRecord(id=entry.id, user_id=entry.user_id, kind=entry.kind, amount=entry.amount,
                        balance_after=entry.balance_after, token_id=entry.token_id,
                        task_id=entry.task_id, refund_of_id=entry.refund_of_id,
                        price_key=entry.price_key, note=entry.note, created_at=entry.created_at)


def _move_balance(user_id: int, delta: int) -> int | None:
    """Add ``delta`` unless that would take the balance below zero; the new balance or None."""
    moved = _BALANCE_MOVE.first(user_id, delta)
    return None if moved is None else moved.balance


def credit(user_id: int, amount: int, kind: EntryKind, *, note: str = "") -> LedgerRecord:
    """A top-up (amount > 0) or a manual adjustment (either sign, never below zero)."""
    with write_transaction():
        balance = _move_balance(user_id, amount)
        if balance is None:
            available = User.select(User.balance).where(User.id == user_id).scalar()
            article = "an" if kind[0] in "aeiou" else "a"
            raise InvalidParameter(
                f"{article} {kind} of {format_cny(amount)} CNY would take the balance of "
                f"{format_cny(available)} CNY below zero")
        return _record(_NEW_ENTRY(user=user_id, kind=kind, amount=amount,
                                  balance_after=balance, note=note, created_at=now_ms()))


def debit(user_id: int, amount: int, *, token_id: int | None = None,
          task_id: str | None = None, price_key: str | None = None,
          note: str = "") -> LedgerRecord:
    """Charge ``amount``; refuses with 1102 when the balance or the token's limit is short."""
    with write_transaction():
        balance = _move_balance(user_id, -amount)
        if balance is None:
            available = User.select(User.balance).where(User.id == user_id).scalar()
            raise ResourcePackExhausted(
                f"insufficient balance: {format_cny(amount)} CNY needed, "
                f"{format_cny(available)} CNY available")
        if token_id is not None:
            _spend_from_token(token_id, amount)
        return _record(_NEW_ENTRY(user=user_id, kind=EntryKind.CHARGE, amount=-amount,
                                  balance_after=balance, token=token_id, task=task_id,
                                  price_key=price_key, note=note, created_at=now_ms()))


def _spend_from_token(token_id: int, amount: int) -> None:
    if _TOKEN_SPEND.first(token_id, amount) is None:
        token = ApiToken.get_by_id(token_id)
        left = (token.spend_limit or 0) - token.spent
        raise ResourcePackExhausted(
            f"token spend limit reached: {format_cny(amount)} CNY needed, "
            f"{format_cny(left)} CNY left of its limit")


def refund(charge_id: int, *, note: str = "", amount: int | None = None) -> LedgerRecord | None:
    """Give back a charge, or ``amount`` of it, once. Returns None when it was refunded
    already (in full or in part: a charge has one refund)."""
    charge = LedgerEntry.get_by_id(charge_id)
    if charge.kind != EntryKind.CHARGE:
        raise ValueError(f"ledger entry {charge_id} is a {charge.kind}, not a charge")
    if amount is None:
        amount = -charge.amount
    if not 0 < amount <= -charge.amount:
        raise ValueError(f"cannot refund {amount} of a charge of {-charge.amount}")
    try:
        with write_transaction(), database.atomic():  # a savepoint: a lost race undoes itself
            balance = _move_balance(charge.user_id, amount)
            entry = _NEW_ENTRY(user=charge.user_id, kind=EntryKind.REFUND, amount=amount,
                               balance_after=balance, token=charge.token_id,
                               task=charge.task_id, refund_of=charge.id,
                               price_key=charge.price_key, note=note, created_at=now_ms())
            if charge.token_id is not None:
                (ApiToken.update(spent=ApiToken.spent - amount)
                 .where(ApiToken.id == charge.token_id).execute())
            return _record(entry)
    except IntegrityError:
        return None


def charge_of(task_id: str) -> LedgerRecord | None:
    """The task's charge; None for a task that was free."""
    charge = (LedgerEntry.select()
              .where((LedgerEntry.task == task_id) & (LedgerEntry.kind == EntryKind.CHARGE))
              .first())
    return None if charge is None else _record(charge)


def page_of_user(user_id: int, page_num: int, page_size: int) -> list[LedgerRecord]:
    """The user's entries, newest first, page ``page_num`` (from 1)."""
    return [_record(entry) for entry in LedgerEntry.select().where(LedgerEntry.user == user_id)
            .order_by(LedgerEntry.id.desc()).paginate(page_num, page_size)]


def total_of_kind(kind: EntryKind) -> int:
    """What the entries of ``kind`` add up to, over every user."""
    return int(LedgerEntry.select(fn.COALESCE(fn.SUM(LedgerEntry.amount), 0))
               .where(LedgerEntry.kind == kind).scalar())


def balance_matches_ledger(user_id: int) -> bool:
    """The invariant every scenario must keep: the ledger adds up to the balance."""
    total = (LedgerEntry.select(fn.COALESCE(fn.SUM(LedgerEntry.amount), 0))
             .where(LedgerEntry.user == user_id).scalar())
    return int(total) == User.select(User.balance).where(User.id == user_id).scalar()


def balance_summary(user_id: int) -> dict[str, int]:
    """The user's balance, what was ever put in (top-ups and adjustments) and since when."""
    user = User.get_by_id(user_id)
    credited = (LedgerEntry.select(fn.COALESCE(fn.SUM(LedgerEntry.amount), 0))
                .where((LedgerEntry.user == user_id)
                       & LedgerEntry.kind.in_([EntryKind.TOPUP, EntryKind.ADJUSTMENT]))
                .scalar())
    return {"balance": user.balance, "credited": int(credited), "since": user.created_at}
