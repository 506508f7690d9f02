"""Named queries of the objects upstream that users own (``domain.owned``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kling_gateway.domain.owned import Resource
from kling_gateway.storage.models import OwnedObject
from kling_gateway.storage.records import OwnedRecord


def find(resource: Resource, object_id: str) -> OwnedRecord | None:
    """The object, whoever owns it; None when no user's task or call made it."""
    found = OwnedObject.get_or_none((OwnedObject.kind == resource.value)
                                    & (OwnedObject.object_id == object_id))
    if found is None:
        return None
    return OwnedRecord(resource=resource, object_id=found.object_id, user_id=found.user_id,
                       channel_id=found.channel_id, created_at=found.created_at,
                       seconds=found.seconds)


def remember(objects: Iterable[tuple[Resource, str]], *, user_id: int, channel_id: int | None,
             now: int, task_id: str | None = None,
             seconds: Mapping[tuple[Resource, str], float] | None = None) -> None:
    """Record what a user's task or call made, where, and how long it lasts when known; an
    object already known stays as it was (a repeated report of a result changes nothing)."""
    rows = [{"kind": resource.value, "object_id": object_id, "user": user_id,
             "channel": channel_id, "task": task_id, "created_at": now,
             "seconds": (seconds or {}).get((resource, object_id))}
            for resource, object_id in objects]
    if rows:
        OwnedObject.insert_many(rows).on_conflict_ignore().execute()


def forget(resource: Resource, object_id: str) -> None:
    """The object was deleted upstream."""
    OwnedObject.delete().where((OwnedObject.kind == resource.value)
                               & (OwnedObject.object_id == object_id)).execute()


def task_that_made(resource: Resource, object_id: str, user_id: int) -> str | None:
    """The id of the user's task that made the object; None for another user's object or one
    a synchronous call made."""
    found = OwnedObject.get_or_none((OwnedObject.kind == resource.value)
                                    & (OwnedObject.object_id == object_id)
                                    & (OwnedObject.user == user_id))
    return None if found is None else found.task_id
