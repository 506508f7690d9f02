"""The upstream objects a request names (``domain.owned``): the caller's own, and where.

A request naming another user's object, or one no user's task or call made, is refused as Kling
refuses an id it does not know, before anything is charged or sent; the caller's own objects
decide the channel the request goes to, full or not, since no other account holds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.errors import InvalidParameter, ServiceUnavailable
from kling_gateway.domain.owned import Resource
from kling_gateway.services import selections
from kling_gateway.services.auth import Caller
from kling_gateway.storage import channels as channel_store
from kling_gateway.storage import owned as owned_store
from kling_gateway.storage.records import ChannelRecord

Named = Iterable[tuple[str, Resource, str]]
"""(field as the client names it, kind, id) of each object a body names."""


def holding_channel(caller: Caller, named: Named) -> ChannelRecord | None:
    """The channel holding every object the body names (None when it names none); 1201
    naming the field for an object that is not the caller's."""
    holders: dict[int, str] = {}
    for field_name, resource, object_id in named:
        channel_id = _HOLDER_OF.get(resource, _owned_object)(caller, field_name, resource,
                                                             object_id)
        if channel_id is not None:
            holders.setdefault(channel_id, field_name)
    if len(holders) > 1:
        first, second = holders.values()
        raise InvalidParameter(f"invalid parameter '{second}': it lives on another upstream "
                               f"account than '{first}', so no task can use both")
    if not holders:
        return None
    (channel_id,) = holders
    return channel_store.channel_by_id(channel_id)


def _owned_object(caller: Caller, field_name: str, resource: Resource,
                  object_id: str) -> int | None:
    found = owned_store.find(resource, object_id)
    if found is None or found.user_id != caller.user_id:
        raise InvalidParameter(f"invalid parameter '{field_name}': no {resource.value} "
                               f"{object_id}")
    if found.channel_id is None:
        raise ServiceUnavailable(f"the channel holding {resource.value} {object_id} has been "
                                 "removed")
    return found.channel_id


def _selection_session(caller: Caller, field_name: str, resource: Resource,
                       session_id: str) -> int | None:
    return selections.channel_of(selections.owned_session(caller, session_id)).id


_HOLDER_OF: dict[Resource, Callable[[Caller, str, Resource, str], int | None]] = {
    Resource.SELECTION_SESSION: _selection_session,
}
"""Kinds kept apart from ``owned_objects`` (a selection session has its own table)."""


def remember(caller: Caller, channel: ChannelRecord, made: Iterable[tuple[Resource, str]]
             ) -> None:
    """What a synchronous call made for the caller, on ``channel``."""
    owned_store.remember(made, user_id=caller.user_id, channel_id=channel.id, now=now_ms())
