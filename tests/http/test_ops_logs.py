"""One JSON line per request with who, what and how much; never a credential or an image."""

from __future__ import annotations

import base64
import json
import os
import re
from typing import Any

import requests

from kling_gateway import kling_jwt
from kling_gateway.domain.money import format_cny
from kling_gateway.simulator.media import png_grayscale_mask
from kling_gateway.storage.models import Task

I2V = "/kling/v1/videos/image2video"
SIDE = 600
BIG_IMAGE = base64.b64encode(png_grayscale_mask(SIDE, SIDE, os.urandom(SIDE * SIDE))).decode()
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{100,}")


def access_lines(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for line in lines:
        if line["logger"] == "kling_gateway.access":
            assert line["request_id"] not in found, "one line per request"
            found[line["request_id"]] = line
    return found


def test_request_lines_carry_the_facts_and_no_secret_or_image(gateway, log_lines):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    jwt = kling_jwt.sign(ada.issued.access_key, ada.issued.secret_key)
    by_key = {"Authorization": f"Bearer {ada.issued.api_key}"}

    created = requests.post(f"{gateway.base_url}{I2V}", headers=by_key, timeout=30,
                            json={"image": BIG_IMAGE, "prompt": "the waves roll in"})
    assert created.status_code == 200, created.text
    task_id = created.json()["data"]["task_id"]
    read = requests.get(f"{gateway.base_url}{I2V}/{task_id}", timeout=30,
                        headers={"Authorization": f"Bearer {jwt}"})
    refused = requests.post(f"{gateway.base_url}{I2V}", timeout=30,
                            headers={"Authorization": f"Bearer kg-{'x' * 43}"},
                            json={"image": BIG_IMAGE})
    assert (read.status_code, refused.status_code) == (200, 401)

    lines = log_lines()
    text = "\n".join(json.dumps(line) for line in lines)
    for secret in (ada.issued.api_key, ada.issued.secret_key, jwt, jwt.split(".")[1],
                   "x" * 43, BIG_IMAGE[5000:5100]):
        assert secret not in text
    assert not BASE64_RUN.search(text)

    requests_seen = access_lines(lines)
    create = requests_seen[created.headers["X-Request-Id"]]
    task = Task.get_by_id(task_id)
    assert create == {**create, "method": "POST", "path": I2V, "status": 200,
                      "operation": "videos.create_image2video", "user": "ada",
                      "token_id": ada.issued.token.id, "channel": "sim", "task_id": task_id,
                      "price_key": task.price_key, "amount": format_cny(task.amount)}
    assert create["level"] == "INFO" and create["duration_ms"] > 0
    assert create["upstream_request_id"]

    query = requests_seen[read.headers["X-Request-Id"]]
    assert query == {**query, "method": "GET", "path": f"{I2V}/{{id}}", "status": 200,
                     "user": "ada", "task_id": task_id, "channel": "sim"}
    assert requests_seen[refused.headers["X-Request-Id"]]["status"] == 401


def test_the_callback_secret_in_a_path_is_never_logged(gateway, log_lines):
    secret = "s3cr3t-" + "q" * 30
    answer = requests.post(f"{gateway.base_url}/kling-gateway/callbacks/123/{secret}",
                           json={"task_id": "1", "task_status": "succeed"}, timeout=30)
    assert answer.status_code == 404

    line = access_lines(log_lines())[answer.headers["X-Request-Id"]]
    assert line["path"] == "/kling-gateway/callbacks/{task_id}/{secret}"
    assert secret not in json.dumps(log_lines())
