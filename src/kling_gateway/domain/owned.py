"""Objects a caller owns upstream: what a body refers to, and what a finished task made.

Kling keeps videos, face sessions, audio, voices and elements per account. Through the gateway
many users share an account, so each object belongs to the user whose request made it and lives
on the channel (account) that made it. A request naming one must be that user's and go to that
channel; another user's id is answered as Kling answers an id it does not know, and never
reaches upstream. Voices and elements also come as Kling's presets, which belong to nobody.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

EACH = "[]"
"""A path step meaning "every item of this list"."""


class Resource(StrEnum):
    """The kinds of upstream objects, as stored (do not rename a value)."""

    SELECTION_SESSION = "selection-session"
    VIDEO = "video"
    FACE_SESSION = "face-session"
    AUDIO = "audio"
    VOICE = "voice"
    ELEMENT = "element"

    @property
    def has_presets(self) -> bool:
        """Kling offers presets of it that every account may use."""
        return self in (Resource.VOICE, Resource.ELEMENT)


@dataclass(frozen=True)
class Reference:
    """A body field that names an upstream object: ``path`` leads to it, ``EACH`` for every
    item of a list (``("element_list", EACH, "element_id")``)."""

    path: tuple[str, ...]
    resource: Resource

    def found_in(self, body: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        """Each (field as the client would name it, id) the body gives; an empty string or a
        missing field names nothing, as Kling reads it."""
        yield from _walk(body, self.path, "")


def _walk(value: Any, path: tuple[str, ...], label: str) -> Iterator[tuple[str, str]]:
    if not path:
        if value is not None and value != "" and not isinstance(value, (dict, list, bool)):
            yield label, str(value)
        return
    step, rest = path[0], path[1:]
    if step == EACH:
        for index, item in enumerate(value if isinstance(value, list) else []):
            yield from _walk(item, rest, f"{label}[{index}]")
    elif isinstance(value, Mapping) and step in value:
        yield from _walk(value[step], rest, f"{label}.{step}" if label else step)


RESULT_OBJECTS: tuple[tuple[str, str, Resource], ...] = (
    ("videos", "id", Resource.VIDEO),
    ("audios", "id", Resource.AUDIO),
    ("voices", "voice_id", Resource.VOICE),
    ("elements", "element_id", Resource.ELEMENT),
)
"""Where a finished task's ``task_result`` names what it made: list, id field, kind."""


LENGTH_FIELDS = ("duration", "duration_mp3")
"""Where a result's video or audio says how many seconds it lasts (a TTS audio: ``duration``;
a sound effect: ``duration_mp3``)."""


def seconds_of(result: Mapping[str, Any] | None) -> dict[tuple[Resource, str], float]:
    """How long each object a result names lasts, where the result says."""
    found: dict[tuple[Resource, str], float] = {}
    for list_name, id_field, resource in RESULT_OBJECTS:
        for item in (result or {}).get(list_name) or []:
            if not isinstance(item, Mapping) or item.get(id_field) in (None, ""):
                continue
            for name in LENGTH_FIELDS:
                try:
                    seconds = float(item.get(name))  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    continue
                if seconds > 0:
                    found[resource, str(item[id_field])] = seconds
                    break
    return found


def made_by(result: Mapping[str, Any] | None) -> list[tuple[Resource, str]]:
    """The objects a task's result names, each once."""
    made: dict[tuple[Resource, str], None] = {}
    for list_name, id_field, resource in RESULT_OBJECTS:
        for item in (result or {}).get(list_name) or []:
            if isinstance(item, Mapping) and item.get(id_field) not in (None, ""):
                made[resource, str(item[id_field])] = None
    return list(made)
