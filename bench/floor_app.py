"""The framework's floor for get-by-id (issue 6, figure 2): a bare Connexion ``FlaskApp`` with
one GET operation whose handler returns a constant body, served exactly as the gateway is.
``create_async_app`` is the same on Connexion's ``AsyncApp`` (a coroutine handler on the event
loop: no Flask, no a2wsgi thread), the report's side measurement of the other framework.

No middleware of ours, no security, no database: what is left is Connexion's routing and
parameter handling, Flask in a2wsgi's thread pool and the server. The body is the gateway's
own answer for a task when ``FLOOR_BODY_FILE`` names a file holding it (the benchmark fetches
one first, so both answers have the same size and shape), else a built-in one like it.

    uvicorn --factory --app-dir bench floor_app:create_app --workers N
    uvicorn --factory --app-dir bench floor_app:create_async_app --workers N
    gunicorn -k uvicorn.workers.UvicornWorker -w N --chdir bench 'floor_app:create_app()'
"""

from __future__ import annotations

import json
import os
from typing import Any

from connexion import AsyncApp, FlaskApp
from connexion.jsonifier import Jsonifier

BODY_FILE_ENV = "FLOOR_BODY_FILE"
PATH = "/v1/videos/text2video/{task_id}"
SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "floor", "version": "1"},
    "paths": {PATH: {"get": {
        "operationId": "floor_app.get_task",
        "parameters": [{"name": "task_id", "in": "path", "required": True,
                        "schema": {"type": "string"}}],
        "responses": {"200": {"description": "a task",
                              "content": {"application/json": {"schema": {"type": "object"}}}}},
    }}},
}
DEFAULT_BODY: dict[str, Any] = {
    "code": 0, "message": "SUCCEED", "request_id": "00000000-0000-4000-8000-000000000000",
    "data": {"task_id": "17000000000000000000", "task_status": "succeed", "task_status_msg": "",
             "task_info": {}, "task_result": {"videos": [{
                 "id": "sim-video-0", "url": "http://127.0.0.1:1/videos/sim-video-0.mp4",
                 "duration": "5"}]},
             "created_at": 1700000000000, "updated_at": 1700000005000},
}


def _load_body() -> dict[str, Any]:
    path = os.environ.get(BODY_FILE_ENV)
    if not path:
        return DEFAULT_BODY
    with open(path, encoding="utf-8") as source:
        return json.load(source)


BODY = _load_body()


def get_task(task_id: str) -> dict[str, Any]:
    """The constant answer, whatever the id (Connexion serialises it to JSON)."""
    return BODY


async def get_task_async(task_id: str) -> dict[str, Any]:
    return BODY


def create_app() -> FlaskApp:
    app = FlaskApp(__name__)
    # Compact, as the gateway answers, so both bodies have the same size.
    app.add_api(SPEC, jsonifier=Jsonifier(ensure_ascii=False, separators=(",", ":")))
    return app


def create_async_app() -> AsyncApp:
    app = AsyncApp(__name__)
    operation = SPEC["paths"][PATH]["get"]
    spec = {**SPEC, "paths": {PATH: {"get": {**operation,
                                             "operationId": "floor_app.get_task_async"}}}}
    app.add_api(spec, jsonifier=Jsonifier(ensure_ascii=False, separators=(",", ":")))
    return app
