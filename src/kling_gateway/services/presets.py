"""Kling's preset voices and elements: read from upstream, cached, and usable by everyone.

Presets are Kling's own objects, the same on every account, so the gateway reads each list
from any channel that answers, page by page as Kling pages it, and keeps it for ``ttl_seconds``
(ten minutes by default). The presets endpoints answer from the cache, and a request naming a
voice or element that no user made is checked against it: a preset passes and pins the task
to no channel. When the list cannot be read again, the last one read is used on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kling_gateway.domain.errors import ServiceUnavailable
from kling_gateway.domain.owned import Resource
from kling_gateway.upstream.channels import Upstreams
from kling_gateway.upstream.errors import UpstreamError

TTL_SECONDS = 600.0
MAX_PAGES = 50
"""A list longer than this many upstream pages is read no further."""


@dataclass(frozen=True)
class PresetList:
    path: str
    page_size: int
    """The largest page Kling serves of this list."""
    result_list: str
    id_field: str


LISTS = {
    Resource.VOICE: PresetList("/v1/general/presets-voices", 1000, "voices", "voice_id"),
    Resource.ELEMENT: PresetList("/v1/general/advanced-presets-elements", 500, "elements",
                                 "element_id"),
}


@dataclass(frozen=True)
class _Read:
    at: float
    items: list[dict[str, Any]]
    ids: frozenset[str]


class PresetCache:
    """The preset lists last read from upstream, per kind, for one gateway process."""

    def __init__(self, ttl_seconds: float = TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._reads: dict[Resource, _Read] = {}
        self._lock = threading.Lock()

    def page(self, upstreams: Upstreams, resource: Resource, page_num: int,
             page_size: int) -> list[dict[str, Any]]:
        """Page ``page_num`` of the list, as Kling pages it."""
        start = (page_num - 1) * page_size
        return self._read(upstreams, resource).items[start:start + page_size]

    def is_preset(self, upstreams: Upstreams, resource: Resource, object_id: str) -> bool:
        return object_id in self._read(upstreams, resource).ids

    def _read(self, upstreams: Upstreams, resource: Resource) -> _Read:
        with self._lock:  # one reader refreshes; the others wait for its list
            cached = self._reads.get(resource)
            if cached is not None and self._clock() - cached.at < self._ttl:
                return cached
            try:
                items = _fetch(upstreams, LISTS[resource])
            except ServiceUnavailable:
                if cached is None:
                    raise
                return cached  # stale, but presets change seldom: better than none
            self._reads[resource] = _Read(self._clock(), items, _ids(items, LISTS[resource]))
            return self._reads[resource]


def _ids(items: list[dict[str, Any]], listed: PresetList) -> frozenset[str]:
    """The id of every preset the listed task-like objects hold."""
    ids: set[str] = set()
    for task in items:
        for item in (task.get("task_result") or {}).get(listed.result_list) or []:
            if isinstance(item, dict) and item.get(listed.id_field) not in (None, ""):
                ids.add(str(item[listed.id_field]))
    return frozenset(ids)


def _fetch(upstreams: Upstreams, listed: PresetList) -> list[dict[str, Any]]:
    """The whole list from the first channel that answers; 5001 when none does."""
    for channel in upstreams.candidates(None) + upstreams.full(None):
        client = upstreams.client_for(channel)
        items: list[dict[str, Any]] = []
        try:
            for page_num in range(1, MAX_PAGES + 1):
                page = client.get(listed.path, {"pageNum": page_num,
                                                "pageSize": listed.page_size})
                items += [task for task in page or [] if isinstance(task, dict)]
                if not isinstance(page, list) or len(page) < listed.page_size:
                    break
        except UpstreamError:
            continue
        return items
    raise ServiceUnavailable("no upstream channel could list the presets; try again later")
