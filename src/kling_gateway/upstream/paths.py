"""Where the operations that are not tasks live on Kling's API (a task family's path is in
its entry, ``domain.families``)."""

from __future__ import annotations

from kling_gateway.domain.families import SELECTIONS


def selection_path(operation: str) -> str:
    """``init-selection`` → ``/v1/videos/multi-elements/init-selection``."""
    return f"{SELECTIONS.path}/{operation}"


IDENTIFY_FACE_PATH = "/v1/videos/identify-face"
"""Finds the faces of a video for advanced lip-sync: synchronous, no task."""
