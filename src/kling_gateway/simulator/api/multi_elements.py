"""Handlers of the ``multi_elements`` tag: the selection session (its edit task is a family
of ``domain.families``, served by ``simulator.api.tasks``)."""

from __future__ import annotations

from typing import Any

from flask import request

from kling_gateway.domain import rules
from kling_gateway.simulator.app import current_simulator
from kling_gateway.simulator.masks import mask_payload
from kling_gateway.simulator.selections import VIDEO_HEIGHT, VIDEO_WIDTH, Session
from kling_gateway.web.envelope import ok

Answer = dict[str, Any]


def _session_answer(session: Session, **extra: Any) -> Answer:
    return ok({"status": 0, "session_id": session.session_id, "final_unit_deduction": "0",
               **extra})


def _points(body: dict) -> list[tuple[float, float]]:
    return [(float(p["x"]), float(p["y"])) for p in body["points"]]


def _masks_answer(session: Session, frame: int) -> Answer:
    points = session.frames.get(frame, [])
    masks = [{"object_id": 0, **mask_payload(VIDEO_WIDTH, VIDEO_HEIGHT, points)}] if points else []
    return _session_answer(session, res={"frame_index": frame, "rle_mask_list": masks})


def _files_url() -> str:
    return request.host_url.rstrip("/") + "/files"


def init_selection(body: dict, user: str) -> Answer:
    simulator = current_simulator()
    rules.check("init-selection", body)
    simulator.before_call()
    session = simulator.selections.open(user, body.get("video_id") or None,
                                        body.get("video_url") or None)
    normalized = f"{_files_url()}/videos/selection-{session.session_id}.mp4"
    return _session_answer(session, **session.facts(), normalized_video=normalized)


def add_selection(body: dict, user: str) -> Answer:
    simulator = current_simulator()
    simulator.before_call()
    frame = body["frame_index"]
    session = simulator.selections.add(user, body["session_id"], frame, _points(body))
    return _masks_answer(session, frame)


def delete_selection(body: dict, user: str) -> Answer:
    simulator = current_simulator()
    simulator.before_call()
    frame = body["frame_index"]
    session = simulator.selections.delete(user, body["session_id"], frame, _points(body))
    return _masks_answer(session, frame)


def clear_selection(body: dict, user: str) -> Answer:
    simulator = current_simulator()
    simulator.before_call()
    return _session_answer(simulator.selections.clear(user, body["session_id"]))


def preview_selection(body: dict, user: str) -> Answer:
    simulator = current_simulator()
    simulator.before_call()
    session = simulator.selections.session(user, body["session_id"])
    base = f"{_files_url()}/videos/preview-{session.session_id}"
    return _session_answer(session, res={
        "video": f"{base}.mp4",
        "video_cover": f"{_files_url()}/images/preview-{session.session_id}.png",
        "tracking_output": f"{base}-masks.mp4",
    })
