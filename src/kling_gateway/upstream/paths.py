"""Where each operation lives on Kling's API."""

from __future__ import annotations

from kling_gateway.domain.families import Family

TASK_PATHS = {
    Family.TEXT2VIDEO: "/v1/videos/text2video",
    Family.IMAGE2VIDEO: "/v1/videos/image2video",
    Family.MULTI_IMAGE2VIDEO: "/v1/videos/multi-image2video",
    Family.IMAGE_GENERATION: "/v1/images/generations",
    Family.MULTI_IMAGE2IMAGE: "/v1/images/multi-image2image",
    Family.MULTI_ELEMENTS: "/v1/videos/multi-elements",
}


def selection_path(operation: str) -> str:
    """``init-selection`` → ``/v1/videos/multi-elements/init-selection``."""
    return f"{TASK_PATHS[Family.MULTI_ELEMENTS]}/{operation}"
