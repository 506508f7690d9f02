"""Hostile input over HTTP, on SQLite and PostgreSQL: every bad request gets a clear 4xx in the
official envelope, nothing is written or charged, and no request body reaches the log.

The classes: bodies that break Python's JSON layer (deep nesting, huge integers, lone
surrogates, NaN and Infinity), identifiers that a URL path cannot carry or a column cannot
hold, odd paths, oversized unknown fields, and query strings that break number parsing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from kling_gateway.storage.models import CallbackDelivery, LedgerEntry, Task
from tests.support.gateway import Gateway, Tenant

MARKER = "HOSTILE-MARKER-7f3a"
"""Written into every hostile body: it must never show up in a log line."""
T2V = "/kling/v1/videos/text2video"
ADMIN = "/admin/v1"
CALLBACKS = "/kling-gateway/callbacks"


def _nested(opening: str, closing: str, depth: int) -> str:
    return f'{{"prompt":"{MARKER}","x":{opening * depth}{closing * depth}}}'


@dataclass(frozen=True)
class Hostile:
    name: str
    body: str | bytes
    code: int
    field: str | None = None

    def __str__(self) -> str:
        return self.name


BODIES = [
    Hostile("arrays 10,000 deep", _nested("[", "]", 10_000), 1200),
    Hostile("objects 10,000 deep", f'{{"prompt":"{MARKER}","x":' + '{"a":' * 10_000 + "1"
            + "}" * 10_001, 1200),
    Hostile("arrays 65 deep", _nested("[", "]", 64), 1200),
    Hostile("integer of 5,000 digits", f'{{"prompt":"{MARKER}","cfg_scale":{"9" * 5000}}}',
            1201, "cfg_scale"),
    Hostile("negative integer of 101 digits", f'{{"prompt":"{MARKER}","n":-{"1" * 101}}}',
            1201, "n"),
    Hostile("NaN", f'{{"prompt":"{MARKER}","cfg_scale":NaN}}', 1201, "cfg_scale"),
    Hostile("Infinity", f'{{"prompt":"{MARKER}","cfg_scale":Infinity}}', 1201, "cfg_scale"),
    Hostile("-Infinity in an unknown field", f'{{"prompt":"{MARKER}","extra":[-Infinity]}}',
            1201, "extra[0]"),
    Hostile("1e999", f'{{"prompt":"{MARKER}","cfg_scale":1e999}}', 1201, "cfg_scale"),
    Hostile("lone surrogate in the prompt", f'{{"prompt":"\\ud800 {MARKER}"}}', 1201, "prompt"),
    Hostile("lone low surrogate with credentials in callback_url",
            f'{{"prompt":"{MARKER}","callback_url":"https://u:pw@example.com/\\udc00"}}',
            1201, "callback_url"),
    Hostile("lone surrogate in a member name", f'{{"prompt":"{MARKER}","\\ud83d":1}}', 1200),
    Hostile("NUL in external_task_id", f'{{"prompt":"{MARKER}","external_task_id":"a\\u0000b"}}',
            1201, "external_task_id"),
    Hostile("line feed in external_task_id",
            f'{{"prompt":"{MARKER}","external_task_id":"a\\nb"}}', 1201, "external_task_id"),
    Hostile("trailing newline in external_task_id",
            f'{{"prompt":"{MARKER}","external_task_id":"ab\\n"}}', 1201, "external_task_id"),
    Hostile("C1 control in external_task_id",
            f'{{"prompt":"{MARKER}","external_task_id":"a\\u0085b"}}', 1201, "external_task_id"),
    Hostile("slash in external_task_id", f'{{"prompt":"{MARKER}","external_task_id":"a/b"}}',
            1201, "external_task_id"),
    Hostile("dots only as external_task_id", f'{{"prompt":"{MARKER}","external_task_id":".."}}',
            1201, "external_task_id"),
    Hostile("external_task_id of 201 characters",
            f'{{"prompt":"{MARKER}","external_task_id":"{"x" * 201}"}}', 1201, "external_task_id"),
    Hostile("external_task_id of 100,000 characters",
            f'{{"prompt":"{MARKER}","external_task_id":"{"x" * 100_000}"}}', 1201,
            "external_task_id"),
    Hostile("unknown field of 10 MB", f'{{"prompt":"{MARKER}","junk":"{"j" * 10_000_000}"}}',
            1201, "junk"),
    Hostile("unknown fields adding up past the limit", json.dumps(
        {"prompt": MARKER, **{f"f{i}": "v" * 5000 for i in range(14)}}), 1201),
    Hostile("unknown field nested in a known one", json.dumps(
        {"prompt": MARKER, "camera_control": {"type": "simple", "config": {"zoom": 5},
                                              "junk": "j" * 70_000}}), 1201,
            "camera_control.junk"),
    Hostile("not JSON", f"{{prompt: {MARKER}}}", 1200),
    Hostile("invalid UTF-8", f'{{"prompt":"{MARKER} '.encode() + b'\xff"}', 1200),
    Hostile("a JSON string instead of an object", f'"{MARKER}"', 1201),
]


@pytest.fixture
def ada(gateway: Gateway) -> Tenant:
    gateway.add_upstream("sim")
    return gateway.tenant("ada")


def _post_raw(url: str, body: str | bytes, headers: dict[str, str]) -> requests.Response:
    data = body.encode() if isinstance(body, str) else body
    return requests.post(url, data=data, timeout=60,
                         headers={**headers, "Content-Type": "application/json"})


def assert_refused(response: requests.Response, code: int, field: str | None = None) -> None:
    """A 4xx in the official envelope with ``code``; for 1201, the message names ``field``."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    body = response.json()
    assert list(body) == ["code", "message", "request_id"], body
    assert body["code"] == code, body
    assert body["request_id"] == response.headers["X-Request-Id"]
    assert len(body["message"]) < 400
    if field is not None:
        assert f"'{field}'" in body["message"], body["message"]


def assert_nothing_happened(tenant: Tenant, balance: int) -> None:
    assert tenant.balance == balance
    assert Task.select().count() == 0
    assert not list(LedgerEntry.select().where(LedgerEntry.kind.in_(("charge", "refund"))))
    assert CallbackDelivery.select().count() == 0


def assert_quiet_log(lines: list[dict[str, Any]]) -> None:
    """Nothing of the body, no traceback, nothing at ERROR."""
    for line in lines:
        text = str(line)
        assert MARKER not in text, line
        assert "exception" not in line, line
        assert line["level"] not in ("ERROR", "CRITICAL"), line


@pytest.mark.parametrize("hostile", BODIES, ids=str)
def test_a_hostile_create_body_is_refused_before_anything_is_written(
        gateway: Gateway, ada: Tenant, hostile: Hostile,
        log_lines: Callable[[], list[dict[str, Any]]]):
    balance = ada.balance
    response = _post_raw(gateway.base_url + T2V, hostile.body, ada.key.headers())
    assert_refused(response, hostile.code, hostile.field)
    assert_nothing_happened(ada, balance)
    assert_quiet_log(log_lines())


JSON_LAYER = [hostile for hostile in BODIES if hostile.name in (
    "arrays 10,000 deep", "objects 10,000 deep", "integer of 5,000 digits", "NaN",
    "lone surrogate in the prompt", "not JSON")]


@pytest.mark.parametrize("hostile", JSON_LAYER, ids=str)
def test_the_callback_receiver_refuses_the_same_bodies_without_credentials(
        gateway: Gateway, hostile: Hostile, log_lines: Callable[[], list[dict[str, Any]]]):
    response = _post_raw(f"{gateway.base_url}{CALLBACKS}/1722769557708042137/s3cret",
                         hostile.body, {})
    assert_refused(response, hostile.code)
    assert_quiet_log(log_lines())


@pytest.mark.parametrize("hostile", JSON_LAYER, ids=str)
def test_the_admin_api_refuses_the_same_bodies(
        gateway: Gateway, hostile: Hostile, log_lines: Callable[[], list[dict[str, Any]]]):
    response = _post_raw(f"{gateway.base_url}{ADMIN}/users", hostile.body,
                         {"Authorization": "Bearer admin-token"})
    assert_refused(response, hostile.code)
    assert_quiet_log(log_lines())
    assert requests.get(f"{gateway.base_url}{ADMIN}/users", timeout=10,
                        headers={"Authorization": "Bearer admin-token"}).json()["data"] == []


BAD_IDS = [
    ("NUL", "a%00b"),
    ("DEL", "a%7Fb"),
    ("201 characters", "x" * 201),
    ("10,000 characters", "x" * 10_000),
]


@pytest.mark.parametrize(("name", "task_id"), BAD_IDS, ids=[name for name, _ in BAD_IDS])
def test_a_get_by_id_with_an_impossible_id_is_1201(gateway: Gateway, ada: Tenant, name: str,
                                                    task_id: str):
    response = requests.get(f"{gateway.base_url}{T2V}/{task_id}", headers=ada.key.headers(),
                            timeout=10)
    assert_refused(response, 1201, "id")


@pytest.mark.parametrize("path", [f"{T2V}/%2e%2e%2f", f"{T2V}/%2e%2e", f"{T2V}/%2E",
                                  f"{T2V}/a%2Fb", "/kling/v1/videos/%2e%2e/text2video",
                                  f"{T2V}/a%0Ab", f"{T2V}/a%E2%80%A8b"])
def test_encoded_dot_segments_slashes_and_line_breaks_are_not_found_never_redirected(
        gateway: Gateway, ada: Tenant, path: str):
    response = requests.get(gateway.base_url + path, headers=ada.key.headers(), timeout=10,
                            allow_redirects=False)
    assert_refused(response, 1203)


def test_a_doubled_slash_is_served_like_one(gateway: Gateway, ada: Tenant):
    created = ada.key.create("/v1/images/generations",
                             {"prompt": "a lighthouse", "external_task_id": "lighthouse-1"})
    for path in (f"/kling/v1/images/generations//{created['task_id']}",
                 "/kling/v1/images/generations//lighthouse-1",
                 "/kling//v1/images//generations/lighthouse-1"):
        response = requests.get(gateway.base_url + path, headers=ada.key.headers(), timeout=10)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["data"]["task_id"] == created["task_id"]
    listed = requests.get(f"{gateway.base_url}//kling/v1/images/generations",
                          headers=ada.key.headers(), timeout=10)
    assert [task["task_id"] for task in listed.json()["data"]] == [created["task_id"]]


@pytest.mark.parametrize("external_task_id", [
    "render #1 ?draft=yes&x=%41", "ünïcödé-渲染-🎬", "a.b", ".hidden", "x" * 200, "a b",
    "a\\b", "semi;colon,comma"])
def test_every_id_the_rule_admits_comes_back_by_its_path(gateway: Gateway, ada: Tenant,
                                                         external_task_id: str):
    created = ada.key.create("/v1/videos/text2video",
                             {"prompt": "a red panda", "external_task_id": external_task_id})
    quoted = requests.utils.quote(external_task_id, safe="")
    found = ada.key.get(f"/v1/videos/text2video/{quoted}")
    assert found.status_code == 200, found.text
    assert found.json()["data"]["task_id"] == created["task_id"]
    assert found.json()["data"]["task_info"]["external_task_id"] == external_task_id


@pytest.mark.parametrize("query", ["pageNum=" + "9" * 5000, "pageNum=NaN", "pageSize=1e999",
                                   "pageNum=-0x1", "pageSize=%00", "pageNum=1&pageNum=2"])
def test_hostile_query_strings_are_1201(gateway: Gateway, ada: Tenant, query: str):
    response = requests.get(f"{gateway.base_url}{T2V}?{query}", headers=ada.key.headers(),
                            timeout=10)
    if query == "pageNum=1&pageNum=2":  # a repeated parameter: the first one counts, as in Flask
        assert response.status_code == 200, response.text
        return
    assert_refused(response, 1201)


@pytest.mark.parametrize(("method", "path"), [
    ("GET", f"{ADMIN}/users/a%00b"), ("GET", f"{ADMIN}/users/{'x' * 101}"),
    ("GET", f"{ADMIN}/channels/a%00b"), ("GET", f"{ADMIN}/tasks/a%00b/callbacks"),
    ("PUT", f"{ADMIN}/prices/a%00b"), ("DELETE", f"{ADMIN}/prices/a%01b")])
def test_impossible_admin_names_are_refused_not_crashed(gateway: Gateway, method: str,
                                                        path: str):
    response = requests.request(method, gateway.base_url + path, timeout=10,
                                json={"price": "1.00"} if method == "PUT" else None,
                                headers={"Authorization": "Bearer admin-token"})
    assert_refused(response, 1201)


@pytest.mark.parametrize("path", [f"{CALLBACKS}/a%00b/secret", f"{CALLBACKS}/1/a%00b"])
def test_impossible_callback_ids_are_refused_not_crashed(gateway: Gateway, path: str):
    response = requests.post(gateway.base_url + path, timeout=10, json={
        "task_id": "1", "task_status": "succeed", "created_at": 1, "updated_at": 1})
    assert_refused(response, 1201)


@pytest.mark.parametrize(("content_type", "body"), [
    ("text/csv", "[" * 10_000 + "]" * 10_000),
    ("text/csv", '{"kling-video_kling-v1_std_5": NaN}'),
    ("text/csv", "key,price\nbad\x00key,1.00\n"),
    ("application/json", '{"bad\\u0000key": "1.00"}'),
    ("application/json", '[{"key": "a/b", "price": "1.00"}]'),
])
def test_a_hostile_price_file_changes_no_price(gateway: Gateway, content_type: str, body: str):
    headers = {"Authorization": "Bearer admin-token"}
    before = requests.get(f"{gateway.base_url}{ADMIN}/prices", headers=headers, timeout=10).json()
    response = requests.post(f"{gateway.base_url}{ADMIN}/prices/import", data=body.encode(),
                             headers={**headers, "Content-Type": content_type}, timeout=10)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["code"] in (1200, 1201)
    after = requests.get(f"{gateway.base_url}{ADMIN}/prices", headers=headers, timeout=10).json()
    assert after["data"] == before["data"]
