"""Simulated multi-elements selection sessions: a video, marked frames and their points."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlparse

from kling_gateway.domain.errors import InvalidParameter
from kling_gateway.simulator.tasks import TaskStore

MAX_FRAMES = 10
MAX_POINTS_PER_FRAME = 10
VIDEO_SUFFIXES = (".mp4", ".mov")
# What the simulator "recognises" in any video: 720p at 30 fps, the size Kling normalises to.
VIDEO_WIDTH, VIDEO_HEIGHT, VIDEO_FPS = 1280, 720, 30
EDIT_DURATIONS_MS = {"5": (2000, 5000), "10": (7000, 10000)}

Point = tuple[float, float]


@dataclass
class Session:
    session_id: str
    account: str
    created: float
    duration_ms: int
    frames: dict[int, list[Point]] = field(default_factory=dict)

    @property
    def total_frame(self) -> int:
        return self.duration_ms * VIDEO_FPS // 1000

    def facts(self) -> dict:
        return {"fps": float(VIDEO_FPS), "original_duration": self.duration_ms,
                "width": VIDEO_WIDTH, "height": VIDEO_HEIGHT, "total_frame": self.total_frame}


@dataclass
class SelectionStore:
    tasks: TaskStore
    clock: Callable[[], float]
    lifetime_seconds: float
    seed: int | None = None
    _sessions: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def open(self, account: str, video_id: str | None, video_url: str | None) -> Session:
        duration_ms = (self._duration_of_video_id(account, video_id) if video_id
                       else self._duration_of_video_url(video_url or ""))
        with self._lock:
            session_id = str(self._random.randrange(10**17, 10**18))
            session = Session(session_id, account, self.clock(), duration_ms)
            self._sessions[session_id] = session
            return session

    def session(self, account: str, session_id: str) -> Session:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or session.account != account:
                raise InvalidParameter(f"invalid parameter 'session_id': no session {session_id}")
            if self.clock() - session.created > self.lifetime_seconds:
                raise InvalidParameter(
                    f"invalid parameter 'session_id': session {session_id} has expired")
            return session

    def add(self, account: str, session_id: str, frame: int, points: list[Point]) -> Session:
        session = self.session(account, session_id)
        with self._lock:
            _check_frame(session, frame)
            marked = session.frames.get(frame, [])
            if frame not in session.frames and len(session.frames) >= MAX_FRAMES:
                raise InvalidParameter(
                    f"at most {MAX_FRAMES} frames can be marked in one session")
            if len(marked) + len(points) > MAX_POINTS_PER_FRAME:
                raise InvalidParameter(
                    f"at most {MAX_POINTS_PER_FRAME} points can be marked on one frame; frame "
                    f"{frame} has {len(marked)}")
            session.frames[frame] = marked + points
            return session

    def delete(self, account: str, session_id: str, frame: int, points: list[Point]) -> Session:
        session = self.session(account, session_id)
        with self._lock:
            marked = list(session.frames.get(frame, []))
            for point in points:
                if point not in marked:
                    raise InvalidParameter(
                        f"invalid parameter 'points': ({point[0]}, {point[1]}) was not added on "
                        f"frame {frame}; delete-selection needs the exact points that were added")
                marked.remove(point)
            if marked:
                session.frames[frame] = marked
            else:
                session.frames.pop(frame, None)
            return session

    def clear(self, account: str, session_id: str) -> Session:
        session = self.session(account, session_id)
        with self._lock:
            session.frames.clear()
            return session

    def check_edit(self, account: str, session_id: str, duration: str) -> None:
        """An edit task needs a live session whose video suits the requested duration."""
        session = self.session(account, session_id)
        low, high = EDIT_DURATIONS_MS[duration]
        if not low <= session.duration_ms <= high:
            raise InvalidParameter(
                f"invalid parameter 'duration': '{duration}' needs an input video of "
                f"{low // 1000}-{high // 1000} s, the session's video is "
                f"{session.duration_ms / 1000:g} s")

    def _duration_of_video_id(self, account: str, video_id: str) -> int:
        found = self.tasks.find_video(account, video_id)
        if found is None:
            raise InvalidParameter(
                f"invalid parameter 'video_id': no video {video_id} generated by this account")
        return int(float(found[1]["duration"]) * 1000)

    @staticmethod
    def _duration_of_video_url(video_url: str) -> int:
        parsed = urlparse(video_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise InvalidParameter("invalid parameter 'video_url': must be an http(s) URL")
        if not parsed.path.lower().endswith(VIDEO_SUFFIXES):
            raise InvalidParameter("invalid parameter 'video_url': must be an .mp4 or .mov video")
        return 5000


def _check_frame(session: Session, frame: int) -> None:
    if frame >= session.total_frame:
        raise InvalidParameter(
            f"invalid parameter 'frame_index': the video has {session.total_frame} frames "
            f"(0 to {session.total_frame - 1})")
