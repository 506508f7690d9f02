"""The Kling simulator: the official contract served by in-memory handlers with fault knobs.

It mounts the very ``openapi/kling.yaml`` the gateway serves, with its own handler package, so it
rejects by schema exactly what the real service would. Result files are real (a short MP4, with a
sound track where Kling makes sound; PNGs; MP3 and WAV) and served from ``/files/...``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

from connexion import FlaskApp
from flask import Response, current_app

from kling_gateway import kling_jwt
from kling_gateway.domain.errors import PermissionDenied, error_for_code
from kling_gateway.domain.families import TaskFamily
from kling_gateway.simulator import controls, media
from kling_gateway.simulator.callbacks import CallbackOutbox
from kling_gateway.simulator.faces import FaceStore
from kling_gateway.simulator.presets import PresetLists
from kling_gateway.simulator.selections import SelectionStore
from kling_gateway.simulator.settings import SimulatorSettings
from kling_gateway.simulator.tasks import TaskStore
from kling_gateway.web.mounting import build_app

RESULT_VIDEO_SECONDS, RESULT_VIDEO_FPS = 5, 24
RESULT_IMAGE_SIZE = (512, 288)
MAX_AUDIO_SECONDS = 30.0


class Simulator:
    """All state of one simulated Kling service."""

    def __init__(self, settings: SimulatorSettings,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.started_ms = int(clock() * 1000)
        self.account_problems = dict(settings.account_problems)
        """Each account's problem now; a test (or a demo) changes it to play an account that
        falls into arrears and is paid up again."""
        self._random = random.Random(settings.seed)
        self.outbox = CallbackOutbox()
        self.tasks = TaskStore(settings, clock, on_change=self.outbox.put)
        self.presets = PresetLists()
        self.selections = SelectionStore(self.tasks, clock, settings.session_hours * 3600,
                                         seed=settings.seed)
        self.faces = FaceStore(self.tasks, clock, settings.session_hours * 3600,
                               seed=settings.seed)
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if settings.ticker_seconds:
            self._ticker = threading.Thread(target=self._tick_forever, name="sim-ticker",
                                            daemon=True)
            self._ticker.start()

    def authenticate(self, authorization: str | None) -> dict[str, Any]:
        token = kling_jwt.bearer_token(authorization)
        access_key = kling_jwt.verify(token, self.settings.accounts.get, now=self.clock())
        problem = self.account_problems.get(access_key)
        if problem is not None:  # the caller is known, but its account may not be used
            raise error_for_code(problem)
        return {"sub": access_key}

    def check_model(self, access_key: str, family: TaskFamily, body: dict[str, Any]) -> None:
        """1103 when the account may not create tasks with the body's model."""
        allowed = self.settings.account_models.get(access_key)
        model = body.get("model_name") or family.pricing.default_model
        if allowed is not None and model not in allowed:
            raise PermissionDenied(f"no permission to use model {model}")

    def before_call(self, create_body: dict[str, Any] | None = None) -> None:
        """Injected latency for every call; injected refusals for creates."""
        if self.settings.latency_ms:
            time.sleep(self.settings.latency_ms / 1000)
        if create_body is None:
            return
        if self.settings.failure_rate and self._random.random() < self.settings.failure_rate:
            error = error_for_code(self.settings.failure_code)
            raise type(error)(f"{error.message} (simulated by the failure rate)")
        controls.crash_if_asked(create_body)
        refusal = controls.refusal_for(create_body)
        if refusal is not None:
            raise refusal

    def after_create(self, body: dict[str, Any]) -> None:
        if controls.wants_slow_answer(body):
            time.sleep(self.settings.slow_seconds)

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=1)
        self.outbox.close()

    def _tick_forever(self) -> None:
        assert self.settings.ticker_seconds is not None
        while not self._stop.wait(self.settings.ticker_seconds):
            self.tasks.tick()


def current_simulator() -> Simulator:
    return current_app.config["KLING_SIMULATOR"]


def create_simulator_app(settings: SimulatorSettings | None = None, *,
                         clock: Callable[[], float] = time.time,
                         validate_responses: bool = False) -> tuple[FlaskApp, Simulator]:
    simulator = Simulator(settings or SimulatorSettings(), clock)
    app = build_app(__name__, handlers="kling_gateway.simulator.api",
                    authenticate=simulator.authenticate, validate_responses=validate_responses)
    app.app.config["KLING_SIMULATOR"] = simulator
    _add_file_routes(app)
    return app, simulator


def _add_file_routes(app: FlaskApp) -> None:
    """Result links point here; like Kling's signed links they need no bearer token."""

    def video(name: str) -> Response:
        data = media.mp4_bytes(64, 64, RESULT_VIDEO_SECONDS * RESULT_VIDEO_FPS, RESULT_VIDEO_FPS,
                               with_audio=name.removesuffix("-wm").endswith("-sound"))
        return Response(data, mimetype="video/mp4")

    def image(name: str) -> Response:
        return Response(media.png_bytes(*RESULT_IMAGE_SIZE, gradient=True), mimetype="image/png")

    def audio(name: str, kind: str) -> Response:
        # ``{task}-{tenths of a second}ds``: the length the task asked for
        tenths = name.rpartition("-")[2].removesuffix("ds")
        seconds = int(tenths) / 10 if tenths.isdigit() else float(RESULT_VIDEO_SECONDS)
        seconds = min(max(seconds, 0.1), MAX_AUDIO_SECONDS)  # a link is no way to ask for more
        if kind == "wav":
            return Response(media.wav_bytes(seconds), mimetype="audio/wav")
        return Response(media.mp3_bytes(seconds), mimetype="audio/mpeg")

    app.add_url_rule("/files/videos/<name>.mp4", "result_video", video)
    app.add_url_rule("/files/images/<name>.png", "result_image", image)
    app.add_url_rule("/files/audios/<name>.<any(mp3, wav):kind>", "result_audio", audio)
