"""Where multi-elements calls must go: the channel holding each selection session."""

from __future__ import annotations

from kling_gateway.storage.models import SelectionSession
from kling_gateway.storage.records import SessionRecord


def session_of_user(user_id: int, session_id: str) -> SessionRecord | None:
    """The user's session ``session_id``, expired or not; None for another user's."""
    session = SelectionSession.get_or_none(
        (SelectionSession.session_id == session_id) & (SelectionSession.user == user_id))
    if session is None:
        return None
    return SessionRecord(session_id=session.session_id, user_id=session.user_id,
                         channel_id=session.channel_id, created_at=session.created_at,
                         expires_at=session.expires_at)


def remember_session(session_id: str, user_id: int, channel_id: int, now: int,
                     expires_at: int) -> None:
    """Record (or take over) the session as the user's, held by the channel."""
    owner = {SelectionSession.user: user_id, SelectionSession.channel: channel_id,
             SelectionSession.created_at: now, SelectionSession.expires_at: expires_at}
    (SelectionSession.insert({SelectionSession.session_id: session_id, **owner})
     .on_conflict(conflict_target=[SelectionSession.session_id], update=owner).execute())

