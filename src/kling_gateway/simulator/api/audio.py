"""Handlers of the ``audio`` tag beside its task families: TTS, answered at once."""

from __future__ import annotations

from typing import Any

from flask import request

from kling_gateway.domain import rules
from kling_gateway.domain.owned import Resource
from kling_gateway.simulator.app import current_simulator
from kling_gateway.web.envelope import ok

TTS_UNITS = "0.05"
SECONDS_PER_CHARACTER = 0.2
MAX_SECONDS = 30.0


def tts(body: dict, user: str) -> dict[str, Any]:
    simulator = current_simulator()
    rules.check("tts", body)
    simulator.before_call(create_body=body)
    speed = min(max(float(body.get("voice_speed") or 1.0), 0.8), 2.0)  # rounded into range
    seconds = min(max(len(body["text"]) * SECONDS_PER_CHARACTER / speed, 1.0), MAX_SECONDS)
    audio_id = simulator.tasks.new_id()
    files_url = request.host_url.rstrip("/") + "/files"
    audio = {"id": audio_id,
             "url": f"{files_url}/audios/tts-{audio_id}-{round(seconds * 10)}ds.mp3",
             "duration": f"{round(seconds, 1):g}"}
    simulator.tasks.remember(user, Resource.AUDIO, audio)
    now = simulator.tasks.now_ms()
    return ok({"task_id": simulator.tasks.new_id(), "task_status": "succeed",
               "task_status_msg": "", "final_unit_deduction": TTS_UNITS, "created_at": now,
               "updated_at": now, "task_result": {"audios": [audio]}})
