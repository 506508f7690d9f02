"""The simulated task store: accounts' tasks, their lifecycle, concurrency slots and results.

State lives in memory behind one lock. Time comes from an injected clock so that tests can move
it by hand; ``tick()`` moves every task whose time has come and reports each status change to
the callback outbox, in order.

Every request ticks, and a benchmark keeps tens of thousands of tasks, so nothing a request does
scans every task: a heap says which tasks move next, and indexes answer lookups by external id,
the list pages and the slots in use. ``_tasks`` stays the truth (a test may drop a task from it
to play a lost one): whatever an index finds is checked against it.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import random
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kling_gateway.domain.errors import ConcurrencyLimit, InvalidParameter, ResourceNotFound
from kling_gateway.domain.families import Result, TaskFamily
from kling_gateway.domain.owned import RESULT_OBJECTS, Resource
from kling_gateway.domain.task_object import task_object, watermark_choice
from kling_gateway.simulator import controls, presets, sources
from kling_gateway.simulator.family_facts import spoken_seconds, units_of, video_seconds
from kling_gateway.simulator.settings import SimulatorSettings

FINAL = ("succeed", "failed")
PROCESSING_SHARE = 0.2
"""A task turns ``processing`` after this share of ``task_seconds``."""


@dataclass
class SimTask:
    task_id: str
    account: str
    family: TaskFamily
    body: dict[str, Any]
    created_ms: int
    processing_ms: int
    finish_ms: int
    files_url: str
    status: str = "submitted"
    status_msg: str = ""
    updated_ms: int = 0
    result: dict[str, Any] | None = None
    units: str | None = None
    slots: int = 1
    parent: sources.Parent | None = None
    """The video the task works on (``simulator.sources``)."""

    @property
    def external_task_id(self) -> str | None:
        return self.body.get("external_task_id") or None

    def view(self, *, full: bool = True) -> dict[str, Any]:
        """The official task object; create answers carry only the short form."""
        return task_object(task_id=self.task_id, status=self.status,
                           created_at=self.created_ms, updated_at=self.updated_ms,
                           external_task_id=self.external_task_id, status_msg=self.status_msg,
                           result=self.result, watermark=watermark_choice(self.body),
                           reported=self._reported(), full=full)

    def _reported(self) -> dict[str, Any]:
        reported: dict[str, Any] = {"final_unit_deduction": self.units} if self.units else {}
        parent = sources.reported_parent(self)
        if parent is not None:
            reported["parent_video"] = parent
        return reported


@dataclass
class StatusChange:
    task: dict[str, Any]
    callback_url: str


@dataclass
class TaskStore:
    settings: SimulatorSettings
    clock: Callable[[], float]
    on_change: Callable[[StatusChange], None] = lambda change: None
    _tasks: dict[str, SimTask] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _next_moves: list[tuple[int, int, SimTask]] = field(default_factory=list)
    """Heap of (when the task moves next, creation order, task) for every unfinished task."""
    _creations: Iterator[int] = field(default_factory=itertools.count)
    """Numbers tasks in creation order, the order ``_tasks`` iterates in."""
    _listed: dict[tuple[str, TaskFamily], list[SimTask]] = field(default_factory=dict)
    """Each account's tasks of each family, oldest first as the list sorts them."""
    _by_external_id: dict[tuple[str, str], SimTask] = field(default_factory=dict)
    _slots_held: dict[str, int] = field(default_factory=dict)
    """Slots held by each account's unfinished tasks (see _has_room)."""
    _made: dict[tuple[str, Resource, str], dict[str, Any]] = field(default_factory=dict)
    """What each account's tasks and calls made (videos, audio, voices, elements), by kind and
    id, until deleted."""

    def __post_init__(self) -> None:
        self._random = random.Random(self.settings.seed)

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # ---- create / read ----------------------------------------------------------------

    def create(self, account: str, family: TaskFamily, body: dict[str, Any],
               files_url: str, parent: sources.Parent | None = None) -> SimTask:
        with self._lock:
            self.tick()
            self._check_external_id_free(account, body.get("external_task_id"))
            slots = family.slots(body)
            if not self._has_room(account, slots):
                raise ConcurrencyLimit()
            now = self.now_ms()
            lifetime = int(self.settings.task_seconds * 1000)
            task = SimTask(task_id=self._new_task_id(), account=account, family=family,
                           body=body, created_ms=now, updated_ms=now,
                           processing_ms=now + int(lifetime * PROCESSING_SHARE),
                           finish_ms=now + lifetime, files_url=files_url, slots=slots,
                           parent=parent)
            self._add(task)
            self._announce(task)
            return task

    def _add(self, task: SimTask) -> None:
        order = next(self._creations)
        self._tasks[task.task_id] = task
        heapq.heappush(self._next_moves, (task.processing_ms, order, task))
        bisect.insort(self._listed.setdefault((task.account, task.family), []), task,
                      key=_list_key)
        if task.external_task_id:
            self._by_external_id[(task.account, task.external_task_id)] = task
        self._slots_held[task.account] = self._slots_held.get(task.account, 0) + task.slots

    def _kept(self, task: SimTask | None) -> SimTask | None:
        """``task`` if the store still has it."""
        return task if task is not None and self._tasks.get(task.task_id) is task else None

    def get(self, account: str, family: TaskFamily, task_or_external_id: str) -> SimTask:
        with self._lock:
            self.tick()
            task = self._tasks.get(task_or_external_id)
            if task is None or task.account != account:
                task = self._kept(self._by_external_id.get((account, task_or_external_id)))
            if task is None or task.family != family:
                raise ResourceNotFound(f"task not found: {task_or_external_id}")
            return task

    def page(self, account: str, family: TaskFamily, page_num: int,
             page_size: int) -> list[SimTask]:
        with self._lock:
            self.tick()
            start = (page_num - 1) * page_size
            newest_first = (task for task in reversed(self._listed.get((account, family), []))
                            if self._kept(task))
            return list(itertools.islice(newest_first, start, start + page_size))

    def find_video(self, account: str, video_id: str) -> tuple[SimTask, dict] | None:
        """A finished video of ``account`` by its id, with the task that made it."""
        with self._lock:
            self.tick()
            for task in self._tasks.values():
                videos = (task.result or {}).get("videos", [])
                for video in videos:
                    if task.account == account and video["id"] == video_id:
                        return task, video
            return None

    def made(self, account: str, resource: Resource, object_id: str) -> dict[str, Any] | None:
        """The object ``account`` made, as its result shows it; None for another's or none."""
        with self._lock:
            self.tick()
            return self._made.get((account, resource, object_id))

    def remember(self, account: str, resource: Resource, item: dict[str, Any],
                 id_field: str = "id") -> None:
        """What a synchronous call made (a TTS audio)."""
        with self._lock:
            self._made[(account, resource, str(item[id_field]))] = item

    def delete(self, account: str, resource: Resource, object_id: str) -> bool:
        """Delete the account's own object: its result then shows it deleted."""
        with self._lock:
            item = self._made.pop((account, resource, object_id), None)
            if item is not None and "status" in item:
                item["status"] = "deleted"
            return item is not None

    def new_id(self) -> str:
        """A fresh Kling-like numeric id, for what a synchronous call answers."""
        with self._lock:
            return self._new_task_id()

    def slots_in_use(self, account: str) -> int:
        with self._lock:
            return sum(t.slots for t in self._tasks.values()
                       if t.account == account and t.status not in FINAL)

    def _has_room(self, account: str, slots: int) -> bool:
        """By the running count; recounted before refusing, in case a task was dropped from
        ``_tasks`` behind the store's back (the count then holds its slots too long)."""
        if self._slots_held.get(account, 0) + slots <= self.settings.concurrency:
            return True
        self._slots_held[account] = self.slots_in_use(account)
        return self._slots_held[account] + slots <= self.settings.concurrency

    def units_used(self, account: str) -> float:
        with self._lock:
            return sum(float(t.units or 0) for t in self._tasks.values() if t.account == account)

    # ---- lifecycle --------------------------------------------------------------------

    def tick(self) -> None:
        """Move every task whose time has come; each change is announced once, in order."""
        with self._lock:
            now = self.now_ms()
            due: list[tuple[int, SimTask]] = []
            while self._next_moves and self._next_moves[0][0] <= now:
                _, order, task = heapq.heappop(self._next_moves)
                if self._kept(task):
                    due.append((order, task))
            for order, task in sorted(due, key=lambda entry: entry[0]):  # creation order
                if task.status == "submitted" and now >= task.processing_ms:
                    self._move(task, "processing", now)
                if task.status == "processing" and now >= task.finish_ms:
                    self._finish(task, now)
                if task.status not in FINAL:
                    heapq.heappush(self._next_moves, (task.finish_ms, order, task))

    def _finish(self, task: SimTask, now: int) -> None:
        if controls.wants_failure(task.body):
            task.status_msg = controls.FAILED_TASK_MESSAGE
            self._move(task, "failed", now)
            return
        task.result = self._result(task)
        task.units = units_of(task.family, task.body, task.parent, self._spoken_seconds(task))
        for list_name, id_field, resource in RESULT_OBJECTS:
            for item in task.result.get(list_name, []):
                self._made[(task.account, resource, str(item[id_field]))] = item
        self._move(task, "succeed", now)

    def _move(self, task: SimTask, status: str, now: int) -> None:
        task.status = status
        task.updated_ms = now
        if status in FINAL:
            self._slots_held[task.account] -= task.slots
        self._announce(task)

    def _announce(self, task: SimTask) -> None:
        url = task.body.get("callback_url")
        if isinstance(url, str) and url:
            self.on_change(StatusChange(task=task.view(), callback_url=url))

    def _result(self, task: SimTask) -> dict[str, Any]:
        watermark = bool((task.body.get("watermark_info") or {}).get("enabled"))
        if task.family.result is Result.IMAGES:
            return {"images": [_image(task, index, watermark) for index in range(task.slots)]}
        if task.family.result is Result.AUDIOS:
            return {"audios": [self._audio(task)]}
        if task.parent is not None:
            return sources.result_of(task, self._new_id)
        if task.family.result is Result.VOICES:
            voice_id = str(self._random.randrange(10**17, 10**18))
            return {"voices": [presets.voice_info(task.files_url, voice_id,
                                                  task.body["voice_name"],
                                                  owner_id(task.account))]}
        if task.family.result is Result.ELEMENTS:
            return {"elements": [self._element(task)]}
        # Kling's video with sound has a sound track: the file's name asks the file route for one
        sound = task.family.has_sound(task.body)
        stem = f"{task.files_url}/videos/{task.task_id}{'-sound' if sound else ''}"
        spoken = self._spoken_seconds(task)
        video: dict[str, Any] = {"id": self._new_id(), "url": f"{stem}.mp4",
                                 "duration": str(video_seconds(task.body)) if spoken is None
                                 else f"{spoken:g}"}
        if watermark:
            video["watermark_url"] = f"{stem}-wm.mp4"
        # An edit's video names the selection session it was made in.
        video.update({field: object_id for field, resource, object_id
                      in task.family.objects_named(task.body)
                      if resource is Resource.SELECTION_SESSION})
        return {"videos": [video]}

    def _spoken_seconds(self, task: SimTask) -> float | None:
        """How long a video speaking its audio lasts (``family_facts.spoken_seconds``)."""
        audio_id = task.body.get("audio_id")
        audio = (self._made.get((task.account, Resource.AUDIO, str(audio_id)))
                 if audio_id else None)
        return spoken_seconds(task.family, audio)

    def _audio(self, task: SimTask) -> dict[str, Any]:
        """A generated sound, as MP3 and WAV; the length is in the file names for the route."""
        seconds = float(task.body.get("duration") or 5)
        stem = f"{task.files_url}/audios/{task.task_id}-{round(seconds * 10)}ds"
        length = f"{seconds:g}"
        return {"id": self._new_id(), "url_mp3": f"{stem}.mp3", "url_wav": f"{stem}.wav",
                "duration_mp3": length, "duration_wav": length}

    def _element(self, task: SimTask) -> dict[str, Any]:
        """The element as made: what the body described, with the voice it binds."""
        body = task.body
        element: dict[str, Any] = {
            "element_id": self._random.randrange(10**17, 10**18),
            **{name: body[name] for name in ("element_name", "element_description",
                                             "reference_type", "element_image_list",
                                             "element_video_list", "tag_list") if name in body},
            "owned_by": owner_id(task.account), "status": "succeed"}
        voice_id = body.get("element_voice_id")
        if voice_id:
            voice = (self._made.get((task.account, Resource.VOICE, voice_id))
                     or presets.preset_voice(task.files_url, voice_id))
            if voice is not None:
                element["element_voice_info"] = dict(voice)
        return element

    # ---- helpers ----------------------------------------------------------------------

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128)))

    def _check_external_id_free(self, account: str, external_id: str | None) -> None:
        if external_id and self._kept(self._by_external_id.get((account, external_id))):
            raise InvalidParameter(
                f"invalid parameter 'external_task_id': '{external_id}' is already used by "
                "another task of this account")

    def _new_task_id(self) -> str:
        while True:
            task_id = str(self._random.randrange(10**17, 10**18))
            if task_id not in self._tasks:
                return task_id


def owner_id(account: str) -> str:
    """The creator id Kling shows in ``owned_by``: a number per account, not its key."""
    return str(zlib.crc32(account.encode()))


def _list_key(task: SimTask) -> tuple[int, str]:
    """Kling lists newest first: by creation time, then id."""
    return task.created_ms, task.task_id


def _image(task: SimTask, index: int, watermark: bool) -> dict[str, Any]:
    stem = f"{task.files_url}/images/{task.task_id}-{index}"
    image: dict[str, Any] = {"index": index, "url": f"{stem}.png"}
    if watermark:
        image["watermark_url"] = f"{stem}-wm.png"
    return image
