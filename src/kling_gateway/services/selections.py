"""Multi-elements selection sessions, relayed synchronously.

A session lives on the upstream account that opened it, so the gateway remembers the owner and
the channel of every session: later calls go to that channel, and another user's session is
reported as non-existent. init and add are charged and refunded when the upstream refuses
(``charged_calls``, like every billed synchronous call).
"""

from __future__ import annotations

from typing import Any

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.owned import Reference, Resource
from kling_gateway.services import charged_calls
from kling_gateway.services.auth import Caller
from kling_gateway.storage import selections as selection_store
from kling_gateway.upstream.channels import Upstreams
from kling_gateway.upstream.paths import selection_path

SESSION_LIFETIME_MS = 24 * 3600 * 1000
INIT_REFERENCES = (Reference(("video_id",), Resource.VIDEO),)
"""A video made through the gateway is only known to the account that made it; a video given
by URL can go to any channel."""
SESSION_REFERENCES = (Reference(("session_id",), Resource.SELECTION_SESSION),)


def init_selection(upstreams: Upstreams, caller: Caller, body: dict[str, Any]) -> Any:
    operation = "init-selection"
    channel, answer = charged_calls.call(upstreams, caller, operation, selection_path(operation),
                                         body, references=INIT_REFERENCES)
    now = now_ms()
    selection_store.remember_session(str(answer["session_id"]), caller.user_id, channel.id, now,
                                     now + SESSION_LIFETIME_MS)
    return answer


def call_in_session(upstreams: Upstreams, caller: Caller, operation: str,
                    body: dict[str, Any]) -> Any:
    """add-, delete-, clear- and preview-selection: on the session's own channel."""
    return charged_calls.call(upstreams, caller, operation, selection_path(operation), body,
                              references=SESSION_REFERENCES)[1]
