"""What the storage raises of its own. Database errors with a meaning to the gateway
(``IntegrityError`` for a taken name, say) are turned into a return value or a domain error in
the storage module that runs the query; nothing above ``storage/`` catches a Peewee error."""

from __future__ import annotations


class RowMissing(LookupError):
    """A row named by its id is not there: a bug, or a race with a delete. Never a client's
    mistake: what a client names is looked up with a ``find``/``*_or_none`` that answers None."""
