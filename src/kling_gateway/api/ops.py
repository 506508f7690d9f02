"""Handlers of openapi/ops.yaml (served by web/ops.py): liveness, readiness, the scrape."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from kling_gateway.services import monitoring


def healthz() -> Response:
    return JSONResponse({"status": "ok"})


def readyz() -> Response:
    problems = monitoring.readiness()
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ok", "problems": []})


def metrics() -> Response:
    body, content_type = monitoring.scrape()
    return Response(body, media_type=content_type)
