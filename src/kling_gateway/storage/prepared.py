"""Statements whose SQL peewee writes once, for those that every request runs.

Writing a query's SQL costs peewee more CPU than the database needs to answer it: a ``tasks``
row has 25 columns, each rendered again for every query, and reading the answer maps each
column back to its field by name, again for every query. Together that was most of what a
get-by-id cost the gateway in Python. A ``PreparedQuery`` (a select, or a write that answers
rows with ``RETURNING``) writes its SQL once per kind of database (SQLite and PostgreSQL mark
parameters differently) with a slot for each argument, and maps the answer's columns to fields
once; a call binds its arguments to the slots, runs the statement and builds model instances
with each field's own conversion (``python_value``).

Arguments are bound as given, without the fields' conversions: pass what the column holds
(``int`` for an id, ``str`` for text, a field's ``db_value`` for anything else).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from peewee import (
    AutoField,
    CharField,
    Field,
    ForeignKeyField,
    IntegerField,
    Model,
    Query,
    TextField,
    Value,
)

from kling_gateway.storage.db import database

M = TypeVar("M", bound=Model)


class _Slot:
    """Where the ``index``-th argument goes among a written query's parameters."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


Conversion = Callable[[Any], Any]

_ADAPTS_AS_GIVEN = (CharField.adapt, TextField.adapt, IntegerField.adapt)
"""peewee's own ``str``/``int`` coercions: both drivers already answer those columns as a
``str`` or an ``int``, so calling them per value changes nothing and costs a call each."""


def _conversion(field: Field) -> Conversion | None:
    """What turns a column's value into the field's; None when the driver's value already is."""
    target = field.rel_field if isinstance(field, ForeignKeyField) else field
    if (type(target).python_value is Field.python_value
            and type(target).adapt in _ADAPTS_AS_GIVEN):
        return None
    return field.python_value


class _Written:
    """A query's SQL for one kind of database, its parameters with slots among them, and the
    field name and conversion of each answer column once the first answer has named them."""

    def __init__(self, sql: str, params: list[Any]) -> None:
        self.sql = sql
        self.params = params
        self.columns: list[tuple[str, Conversion | None]] | None = None


class PreparedQuery(Generic[M]):
    """``build(*slots)`` returns a query answering ``model`` rows (or some of their columns) in
    which each argument is used as a value (peewee writes each slot as a parameter,
    unconverted). ``arity``: how many arguments, when ``build``'s signature cannot tell."""

    def __init__(self, model: type[M], build: Callable[..., Query],
                 arity: int | None = None) -> None:
        self.model = model
        self._build = build
        self._arity = len(inspect.signature(build).parameters) if arity is None else arity
        self._written: dict[type, _Written] = {}

    def rows(self, *args: Any) -> list[M]:
        written = self._for_this_database()
        params = [args[part.index] if isinstance(part, _Slot) else part
                  for part in written.params]
        cursor = database.execute_sql(written.sql, params)
        if written.columns is None:
            fields = [self.model._meta.columns[column[0]] for column in cursor.description]
            written.columns = [(field.name, _conversion(field)) for field in fields]
        return [self._instance(written.columns, row) for row in cursor.fetchall()]

    def first(self, *args: Any) -> M | None:
        rows = self.rows(*args)
        return rows[0] if rows else None

    def _for_this_database(self) -> _Written:
        kind = type(database.obj)
        written = self._written.get(kind)
        if written is None:
            slots = [Value(_Slot(index), converter=False) for index in range(self._arity)]
            sql, params = self._build(*slots).sql()  # constants (LIMIT 1 …) stay as written
            written = self._written[kind] = _Written(sql, params)
        return written

    def _instance(self, columns: Sequence[tuple[str, Conversion | None]],
                  row: Sequence[Any]) -> M:
        instance = self.model(__no_default__=1)  # no defaults, nothing dirty: as read
        # What setting each field would store (a foreign key stores the related row's id),
        # without a descriptor call per field.
        instance.__data__ = {
            name: value if convert is None or value is None else convert(value)
            for (name, convert), value in zip(columns, row, strict=True)}
        return instance


class PreparedInsert(Generic[M]):
    """An INSERT of one ``model`` row that answers the row as stored (its ``returning`` columns,
    default all). Every column is a slot, so one statement serves every call; what a call
    leaves out gets the field's default, computed per call (a callable default is called), as
    peewee's own insert does."""

    def __init__(self, model: type[M], returning: Sequence[Field] | None = None) -> None:
        self.model = model
        self._returning = tuple(returning or (model,))
        # An auto-incremented key is the database's to choose.
        self._fields = [field for field in model._meta.sorted_fields
                        if not isinstance(field, AutoField)]
        self._names = {field.name for field in self._fields}
        self._query = PreparedQuery(model, self._insert, arity=len(self._fields))

    def __call__(self, **values: Any) -> M:
        unknown = set(values) - self._names
        if unknown:
            raise TypeError(f"{self.model.__name__} has no field {', '.join(sorted(unknown))}")
        row = self._query.first(*(field.db_value(_value_of(field, values))
                                  for field in self._fields))
        assert row is not None  # an insert that did not raise answers its row
        return row

    def _insert(self, *slots: Any) -> Query:
        return (self.model.insert(dict(zip(self._fields, slots, strict=True)))
                .returning(*self._returning))


def _value_of(field: Field, values: dict[str, Any]) -> Any:
    if field.name in values:
        return values[field.name]
    default = field.default
    return default() if callable(default) else default
