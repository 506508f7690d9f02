"""The upstream objects a request names (``domain.owned``): the caller's own, and where.

A request naming another user's object, or one no user's task or call made, is refused as Kling
refuses an id it does not know, before anything is charged or sent; the caller's own objects
decide the channel the request goes to, full or not, since no other account holds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kling_gateway.domain.clock import now_ms
from kling_gateway.domain.errors import InvalidParameter, ServiceUnavailable
from kling_gateway.domain.owned import Resource
from kling_gateway.services.auth import Caller
from kling_gateway.storage import channels as channel_store
from kling_gateway.storage import owned as owned_store
from kling_gateway.storage import selections as selection_store
from kling_gateway.storage.records import ChannelRecord
from kling_gateway.upstream import failover
from kling_gateway.upstream.channels import Upstreams

Named = Iterable[tuple[str, Resource, str]]
"""(field as the client names it, kind, id) of each object a body names."""
IsPreset = Callable[[Resource, str], bool]
"""Whether an id is one of Kling's presets of a kind that has them (``services.presets``)."""


def holding_channel(caller: Caller, named: Named, is_preset: IsPreset | None = None
                    ) -> ChannelRecord | None:
    """The channel holding every object the body names (None when it names none); 1201
    naming the field for an object that is not the caller's. A preset voice or element (asked
    of ``is_preset`` for an id no user made) is everyone's and pins nothing; without
    ``is_preset`` only the caller's own objects pass."""
    holders: dict[int, str] = {}
    for field_name, resource, object_id in named:
        if (resource.has_presets and is_preset is not None
                and owned_store.find(resource, object_id) is None
                and is_preset(resource, object_id)):
            continue
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
    """A selection session has its own table, with its lifetime."""
    session = selection_store.session_of_user(caller.user_id, session_id)
    if session is None or session.expires_at <= now_ms():
        raise InvalidParameter(f"invalid parameter '{field_name}': no session {session_id}")
    if session.channel_id is None:
        raise ServiceUnavailable("the channel holding this session has been removed")
    return session.channel_id


_HOLDER_OF: dict[Resource, Callable[[Caller, str, Resource, str], int | None]] = {
    Resource.SELECTION_SESSION: _selection_session,
}
"""Kinds kept apart from ``owned_objects`` (a selection session has its own table)."""


def remember(caller: Caller, channel: ChannelRecord, made: Iterable[tuple[Resource, str]],
             seconds: Mapping[tuple[Resource, str], float] | None = None) -> None:
    """What a synchronous call made for the caller, on ``channel`` (and how long it lasts)."""
    owned_store.remember(made, user_id=caller.user_id, channel_id=channel.id, now=now_ms(),
                         seconds=seconds)


def delete_own(upstreams: Upstreams, caller: Caller, field_name: str, resource: Resource,
               object_id: str, path: str, body: dict[str, Any]) -> Any:
    """Delete the caller's own object on the channel holding it (free of charge), and forget
    it; another user's, a preset or an unknown id is 1201 and never sent upstream."""
    holder = holding_channel(caller, [(field_name, resource, object_id)])
    assert holder is not None  # an own object always has its channel, or 5001 was raised
    answer = failover.send_once(upstreams, [holder], path, body)[1]
    owned_store.forget(resource, object_id)
    return answer
