"""The caller's own video a request works on, as far as the gateway knows it: the mode and
length recorded by the task that made it, which some of Kling's prices depend on; or the
caller's own audio an avatar speaks, whose length its TTS answer said."""

from __future__ import annotations

from typing import Any

from kling_gateway.domain import families
from kling_gateway.domain.owned import Resource
from kling_gateway.domain.pricing import SourceVideo
from kling_gateway.services.auth import Caller
from kling_gateway.storage import owned as owned_store
from kling_gateway.storage import tasks as task_store


def source_of(caller: Caller, operation: str, body: dict[str, Any]) -> SourceVideo | None:
    """The first video (or audio) of the caller's the body names; None when it names none, or
    one the gateway knows nothing of (another user's is refused later, as not found)."""
    try:
        family = families.named(operation)
    except KeyError:  # a call that is no task
        return None
    for _, resource, video_id in family.objects_named(body):
        if resource is Resource.VIDEO:
            return _recorded(caller, video_id)
        if resource is Resource.AUDIO:
            return _audio(caller, video_id)
    return None


def _audio(caller: Caller, audio_id: str) -> SourceVideo | None:
    found = owned_store.find(Resource.AUDIO, audio_id)
    if found is None or found.user_id != caller.user_id or not found.seconds:
        return None
    return SourceVideo(seconds=found.seconds)


def _recorded(caller: Caller, video_id: str) -> SourceVideo | None:
    task_id = owned_store.task_that_made(Resource.VIDEO, video_id, caller.user_id)
    task = None if task_id is None else task_store.find(task_id)
    if task is None:
        return None
    result = task.result if isinstance(task.result, dict) else {}
    videos = result.get("videos") or []
    seconds = next((_seconds(video.get("duration")) for video in videos
                    if isinstance(video, dict) and video.get("id") == video_id), None)
    return SourceVideo(mode=task.mode, seconds=seconds)


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None
