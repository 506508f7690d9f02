"""Simulated face sessions: identify face finds the faces of a video, and advanced lip-sync
animates one of them.

Every video the simulator "recognises" shows two faces: ``0`` through the whole video and
``1`` in its second half. A session belongs to the account that opened it and lives 24 hours.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kling_gateway.domain.errors import InvalidParameter
from kling_gateway.simulator import sources
from kling_gateway.simulator.tasks import TaskStore

MAX_VIDEO_SECONDS = 60.0
MIN_OVERLAP_MS = 2000
"""The dubbed span must overlap the face's span by this much (Kling's rule)."""


@dataclass
class FaceSession:
    session_id: str
    account: str
    created: float
    parent: sources.Parent
    faces: dict[str, tuple[int, int]] = field(default_factory=dict)
    """face id → (start, end) in ms: where it can be lip-synced."""

    def face_data(self, files_url: str) -> list[dict[str, Any]]:
        return [{"face_id": face_id, "face_image":
                 f"{files_url}/images/face-{self.session_id}-{face_id}.png",
                 "start_time": start, "end_time": end}
                for face_id, (start, end) in self.faces.items()]


@dataclass
class FaceStore:
    tasks: TaskStore
    clock: Callable[[], float]
    lifetime_seconds: float
    seed: int | None = None
    _sessions: dict[str, FaceSession] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def identify(self, account: str, video_id: str | None, video_url: str | None
                 ) -> FaceSession:
        parent = (sources.owned_video(self.tasks, account, "video_id", video_id) if video_id
                  else sources.url_video("video_url", video_url or ""))
        if parent.seconds > MAX_VIDEO_SECONDS:
            raise InvalidParameter(f"invalid parameter 'video_id': the video lasts "
                                   f"{parent.seconds:g} s, identify face takes at most "
                                   f"{MAX_VIDEO_SECONDS:g} s")
        length = round(parent.seconds * 1000)
        with self._lock:
            session_id = str(self._random.randrange(10**17, 10**18))
            session = FaceSession(session_id, account, self.clock(), parent,
                                  {"0": (0, length), "1": (length // 2, length)})
            self._sessions[session_id] = session
            return session

    def session(self, account: str, session_id: str) -> FaceSession:
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None or session.account != account:
            raise InvalidParameter(f"invalid parameter 'session_id': no session {session_id}")
        if self.clock() - session.created > self.lifetime_seconds:
            raise InvalidParameter(
                f"invalid parameter 'session_id': session {session_id} has expired")
        return session

    def check_choice(self, account: str, body: dict[str, Any]) -> None:
        """Each chosen face is one of the session's, and its dubbed span fits the video and
        overlaps the face by at least 2 s."""
        session = self.session(account, str(body["session_id"]))
        video_ms = round(session.parent.seconds * 1000)
        for index, face in enumerate(body.get("face_choose") or []):
            label = f"face_choose[{index}]"
            span = session.faces.get(str(face.get("face_id")))
            if span is None:
                raise InvalidParameter(f"invalid parameter '{label}.face_id': no face "
                                       f"{face.get('face_id')} in session {session.session_id}")
            start = int(face["sound_insert_time"])
            end = start + int(face["sound_end_time"]) - int(face["sound_start_time"])
            if end > video_ms:
                raise InvalidParameter(f"invalid parameter '{label}.sound_insert_time': the "
                                       f"audio would end at {end} ms, after the video "
                                       f"({video_ms} ms)")
            if min(end, span[1]) - max(start, span[0]) < MIN_OVERLAP_MS:
                raise InvalidParameter(f"invalid parameter '{label}.sound_insert_time': the "
                                       f"audio must overlap face {face.get('face_id')}'s span "
                                       f"({span[0]}-{span[1]} ms) by at least 2 s")
