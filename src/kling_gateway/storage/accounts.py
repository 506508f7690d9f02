"""Users: named reads and writes, each user handed up as a ``UserRecord``. Their balances move
only through ``storage.ledger``."""

from __future__ import annotations

from peewee import IntegrityError, fn

from kling_gateway.storage.db import database
from kling_gateway.storage.models import User
from kling_gateway.storage.records import UserRecord


def _record(user: User) -> UserRecord:
    return UserRecord(id=user.id, name=user.name, balance=user.balance, disabled=user.disabled,
                      created_at=user.created_at)


def insert_user(name: str, now: int) -> UserRecord | None:
    """A new user with a zero balance; None when the name is taken. In a savepoint, so a taken
    name leaves an outer transaction usable."""
    try:
        with database.atomic():
            return _record(User.create(name=name, balance=0, created_at=now))
    except IntegrityError:
        return None


def user_by_id(user_id: int) -> UserRecord:
    return _record(User.get_by_id(user_id))


def user_by_name(name: str) -> UserRecord | None:
    user = User.get_or_none(User.name == name)
    return None if user is None else _record(user)


def users_page(page_num: int, page_size: int) -> list[UserRecord]:
    """Users in the order they were made, page ``page_num`` (from 1)."""
    return [_record(user)
            for user in User.select().order_by(User.id).paginate(page_num, page_size)]


def set_disabled(user_id: int, disabled: bool) -> UserRecord:
    User.update(disabled=disabled).where(User.id == user_id).execute()
    return user_by_id(user_id)


def count_users() -> int:
    return User.select().count()


def total_balance() -> int:
    """Every user's balance added up."""
    return int(User.select(fn.COALESCE(fn.SUM(User.balance), 0)).scalar())
