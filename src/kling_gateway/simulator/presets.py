"""Kling's preset voices and elements as the simulator offers them: fixed lists every account
may use and none may delete, listed as Kling lists them (task-like objects, one per preset).

The ids include those the project's tests and the spec's examples use in ``voice_list`` and
``element_list``, so those requests name presets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kling_gateway.domain.owned import Resource

PRESETS_CREATED_MS = 1_722_769_557_708
OWNER = "kling"
VOICES: tuple[tuple[str, str], ...] = (
    ("voice-1", "Sunny"), ("voice-2", "Calm narrator"), ("voice-3", "Cheerful girl"),
    ("voice-4", "Deep baritone"), ("voice-5", "News anchor"),
)
ELEMENTS: tuple[tuple[int, str, str], ...] = (
    (160, "Astronaut", "An astronaut in a white suit"),
    (161, "Robot", "A small round robot with blue eyes"),
    (162, "Knight", "A knight in silver armour"),
    (829836802793406552, "Corgi", "A corgi with a red scarf"),
)


def voice_info(files_url: str, voice_id: str, name: str, owner: str) -> dict[str, Any]:
    return {"voice_id": voice_id, "voice_name": name,
            "trial_url": f"{files_url}/audios/voice-{voice_id}-50ds.mp3", "owned_by": owner}


def preset_voice(files_url: str, voice_id: str) -> dict[str, Any] | None:
    return next((voice_info(files_url, vid, name, OWNER) for vid, name in VOICES
                 if vid == voice_id), None)


@dataclass
class PresetLists:
    """The presets, and how often each list was read (tests count the gateway's reads)."""

    reads: dict[Resource, int] = field(default_factory=lambda: {Resource.VOICE: 0,
                                                                 Resource.ELEMENT: 0})

    def has(self, resource: Resource, object_id: str) -> bool:
        ids = ([voice_id for voice_id, _ in VOICES] if resource is Resource.VOICE
               else [str(element_id) for element_id, _, _ in ELEMENTS])
        return object_id in ids

    def page(self, resource: Resource, files_url: str, page_num: int,
             page_size: int) -> list[dict[str, Any]]:
        self.reads[resource] += 1
        if resource is Resource.VOICE:
            items = [("voices", voice_info(files_url, vid, name, OWNER)) for vid, name in VOICES]
        else:
            items = [("elements", _element(element_id, name, description))
                     for element_id, name, description in ELEMENTS]
        start = (page_num - 1) * page_size
        return [_listed(f"{9_000_000_000 + index}", kind, item)
                for index, (kind, item) in enumerate(items[start:start + page_size], start)]


def _element(element_id: int, name: str, description: str) -> dict[str, Any]:
    return {"element_id": element_id, "element_name": name, "element_description": description,
            "reference_type": "image_refer", "tag_list": [{"tag_id": "o_102"}],
            "owned_by": OWNER, "status": "succeed"}


def _listed(task_id: str, kind: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"task_id": task_id, "task_status": "succeed", "task_status_msg": "",
            "created_at": PRESETS_CREATED_MS, "updated_at": PRESETS_CREATED_MS,
            "task_result": {kind: [item]}}
