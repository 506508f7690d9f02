"""Refusals that are the channel's fault, not the client's: the rules that take a channel out
of rotation (``Upstreams.take_out_if_broken``) and the check that brings it back
(``worker.channel_checks``).

When Kling refuses a channel's keys or account, nothing sent with them can succeed, whatever the
request: the channel is taken out of rotation in the database, so that every instance stops
sending it new work (tasks it holds are still polled). The worker checks it at an interval with
a cheap authenticated read and puts it back when Kling answers; an operator can put it back at
once (``services/channels.py``). The client never hears these refusals: they are about the
gateway's own accounts.

An account in arrears may still answer reads. It then comes back at its check, and the next
create Kling refuses takes it out again and moves that request on to the next channel: one
refused attempt per check interval at most, which no client sees.
"""

from __future__ import annotations

from kling_gateway.domain import families
from kling_gateway.upstream.errors import UpstreamError, UpstreamRefused

BROKEN_CODES = frozenset({1000, 1001, 1002, 1003, 1004, 1100, 1101, 1102, 1304})
"""Kling refuses the channel's keys (1000-1004), its account (1100-1102: an account
exception, arrears, a used-up resource pack) or the gateway's address on that account (1304:
not on its IP whitelist): out of rotation until it works again."""
NO_MODEL_CODE = 1103
"""This account may not use the request's model. Another account may, and this one still serves
the models it may use: the request moves on, the channel stays in rotation."""
CHECK_PATH = families.PROBE.path
CHECK_PAGE = {"pageNum": 1, "pageSize": 1}
"""The check: the first entry of the account's task list, the cheapest read Kling authenticates
(it creates nothing and costs nothing)."""


def is_channel_fault(error: UpstreamError | None) -> bool:
    """Whether ``error`` is Kling refusing the gateway's own account rather than the request."""
    return isinstance(error, UpstreamRefused) and (
        error.code in BROKEN_CODES or error.code == NO_MODEL_CODE)
