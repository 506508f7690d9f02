"""The task families of the official API: each has its own create, query and list paths."""

from __future__ import annotations

from enum import StrEnum


class Family(StrEnum):
    TEXT2VIDEO = "text2video"
    IMAGE2VIDEO = "image2video"
    MULTI_IMAGE2VIDEO = "multi-image2video"
    IMAGE_GENERATION = "image-generation"
    MULTI_IMAGE2IMAGE = "multi-image2image"
    MULTI_ELEMENTS = "multi-elements"

    @property
    def makes_images(self) -> bool:
        return self in (Family.IMAGE_GENERATION, Family.MULTI_IMAGE2IMAGE)


def concurrency_slots(family: Family, body: dict) -> int:
    """Kling counts one slot per video task and one per requested image."""
    return int(body.get("n") or 1) if family.makes_images else 1
