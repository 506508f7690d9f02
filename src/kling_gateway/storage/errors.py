"""What the storage raises of its own. Database errors with a meaning to the gateway
(``IntegrityError`` for a taken name, say) are turned into a return value or a domain error in
the storage module that runs the query; nothing above ``storage/`` catches a Peewee error."""

from __future__ import annotations

from peewee import DatabaseError

DatabaseFailure = DatabaseError
"""The database itself failed (it cannot be reached, a statement failed): what an entry point
reports as such. Named here so that nothing above ``storage/`` imports Peewee to catch it."""


class RowMissing(LookupError):
    """A row named by its id is not there: a bug, or a race with a delete. Never a client's
    mistake: what a client names is looked up with a ``find``/``*_or_none`` that answers None."""
