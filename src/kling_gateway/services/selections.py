"""Multi-elements selection sessions, relayed synchronously.

A session lives on the upstream account that opened it, so the gateway remembers the owner and
the channel of every session: later calls go to that channel, and another user's session is
reported as non-existent. init and add are charged and refunded when the upstream refuses.
"""

from __future__ import annotations

from typing import Any

from kling_gateway.domain import rules
from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.errors import InvalidParameter, KlingError, ServiceUnavailable
from kling_gateway.domain.owned import Resource
from kling_gateway.services import billing
from kling_gateway.services.auth import Caller
from kling_gateway.storage import channels as channel_store
from kling_gateway.storage import owned as owned_store
from kling_gateway.storage import selections as selection_store
from kling_gateway.storage.records import ChannelRecord, SessionRecord
from kling_gateway.upstream import failover
from kling_gateway.upstream.channels import Upstreams
from kling_gateway.upstream.paths import selection_path

SESSION_LIFETIME_MS = 24 * 3600 * 1000


def owned_session(caller: Caller, session_id: str) -> SessionRecord:
    session = selection_store.session_of_user(caller.user_id, session_id)
    if session is None or session.expires_at <= now_ms():
        raise InvalidParameter(f"invalid parameter 'session_id': no session {session_id}")
    return session


def channel_of(session: SessionRecord) -> ChannelRecord:
    if session.channel_id is None:
        raise ServiceUnavailable("the channel holding this session has been removed")
    return channel_store.channel_by_id(session.channel_id)


def init_selection(upstreams: Upstreams, caller: Caller, body: dict[str, Any]) -> Any:
    rules.check("init-selection", body)
    channels = _channels_for_video(upstreams, caller, body.get("video_id") or None)
    channel, answer = _charged_call(upstreams, caller, "init-selection", body, channels)
    now = now_ms()
    selection_store.remember_session(str(answer["session_id"]), caller.user_id, channel.id, now,
                                     now + SESSION_LIFETIME_MS)
    return answer


def call_in_session(upstreams: Upstreams, caller: Caller, operation: str,
                    body: dict[str, Any]) -> Any:
    """add-, delete-, clear- and preview-selection: on the session's own channel."""
    channel = channel_of(owned_session(caller, body["session_id"]))
    return _charged_call(upstreams, caller, operation, body, [channel])[1]


def _channels_for_video(upstreams: Upstreams, caller: Caller,
                        video_id: str | None) -> list[ChannelRecord]:
    """A video made through the gateway is only known to the account that made it; a video
    given by URL can go to any channel."""
    if video_id is None:
        candidates = upstreams.candidates(None)
        if not candidates:  # before any charge
            raise ServiceUnavailable("no upstream channel is available; try again later")
        return candidates
    video = owned_store.find(Resource.VIDEO, video_id)
    if video is None or video.user_id != caller.user_id or video.channel_id is None:
        raise InvalidParameter(f"invalid parameter 'video_id': no video {video_id}")
    return [channel_store.channel_by_id(video.channel_id)]


def _charged_call(upstreams: Upstreams, caller: Caller, operation: str, body: dict[str, Any],
                  channels: list[ChannelRecord]) -> tuple[ChannelRecord, Any]:
    charge = billing.charge(caller, billing.bill_for(operation, body, caller))
    try:
        return failover.send_once(upstreams, channels, selection_path(operation), body)
    except KlingError as refusal:
        if charge is not None:
            billing.refund(charge.id, f"{operation} refused upstream: {refusal.message}")
        raise
