"""Every failure, whatever raises it, is the official envelope with the official code and status."""

from __future__ import annotations

import pytest
import requests

from kling_gateway import kling_jwt
from kling_gateway.simulator.settings import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY

T2V = "/v1/videos/text2video"


def assert_error(response: requests.Response, status: int, code: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["code", "message", "request_id"]
    assert body["code"] == code
    assert body["request_id"] == response.headers["X-Request-Id"]
    return body["message"]


def raw(sim, method: str, path: str, **kwargs) -> requests.Response:
    headers = {**sim.api.headers(), **kwargs.pop("headers", {})}
    return requests.request(method, sim.base_url + path, headers=headers, timeout=30, **kwargs)


def test_malformed_json_is_1200(sim):
    answer = raw(sim, "POST", T2V, data=b'{"prompt": ',
                 headers={"Content-Type": "application/json"})
    assert "not valid JSON" in assert_error(answer, 400, 1200)


def test_body_that_is_not_utf8_is_1200(sim):
    answer = raw(sim, "POST", T2V, data=b'{"prompt": "\xff\xfe"}',
                 headers={"Content-Type": "application/json"})
    assert_error(answer, 400, 1200)


def test_wrong_content_type_is_1200(sim):
    answer = raw(sim, "POST", T2V, data=b"prompt=cat",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert "application/json" in assert_error(answer, 400, 1200)


def test_empty_body_is_1201(sim):
    answer = raw(sim, "POST", T2V, headers={"Content-Type": "application/json"})
    assert_error(answer, 400, 1201)


def test_body_that_is_not_an_object_is_1201(sim):
    assert_error(sim.api.post(T2V, ["prompt"]), 400, 1201)


@pytest.mark.parametrize(("body", "field"), [
    ({"prompt": "x", "mode": "fast"}, "'mode'"),
    ({"prompt": "x", "duration": 16}, "'duration'"),  # 5 is taken as "5" (issue 15)
    ({"prompt": "x" * 2501}, "'prompt'"),
    ({"prompt": "x", "cfg_scale": 1.5}, "'cfg_scale'"),
    ({"prompt": "x", "camera_control": {"type": "simple", "config": {"zoom": 11}}},
     "'camera_control.config.zoom'"),
])
def test_schema_violation_is_1201_naming_the_field(sim, body, field):
    assert field in assert_error(sim.api.post(T2V, body), 400, 1201)


def test_missing_required_field_is_named(sim):
    answer = sim.api.post("/v1/videos/multi-image2video", {"prompt": "x"})
    assert "'image_list'" in assert_error(answer, 400, 1201)


def test_nested_item_violation_is_named_with_its_index(sim):
    answer = sim.api.post("/v1/videos/multi-image2video",
                          {"prompt": "x", "image_list": [{"image": "https://a/b.png"}, {}]})
    assert "image_list[1].image" in assert_error(answer, 400, 1201)


def test_unknown_fields_are_allowed(sim):
    answer = sim.api.post(T2V, {"prompt": "x", "model": "kling-v1", "brand_new_option": True})
    assert answer.status_code == 200


@pytest.mark.parametrize(("params", "name"), [
    ({"pageNum": 0}, "pageNum"), ({"pageNum": 1001}, "pageNum"),
    ({"pageSize": 0}, "pageSize"), ({"pageSize": 501}, "pageSize"),
    ({"pageSize": "many"}, "pageSize"),
])
def test_paging_out_of_range_is_1201(sim, params, name):
    assert name in assert_error(sim.api.get(T2V, **params), 400, 1201)


def test_paging_at_the_limits_is_accepted(sim):
    assert sim.api.get(T2V, pageNum=1000, pageSize=500).status_code == 200


def test_unknown_path_is_1203_with_404(sim):
    assert_error(raw(sim, "GET", "/v1/videos/no-such-thing"), 404, 1203)


def test_wrong_method_is_1202_with_404(sim):
    assert_error(raw(sim, "DELETE", T2V), 404, 1202)
    assert_error(raw(sim, "PUT", f"{T2V}/123", json={}), 404, 1202)


def test_unknown_task_is_1203(sim):
    assert_error(sim.api.get(f"{T2V}/does-not-exist"), 404, 1203)


def test_unexpected_exception_is_5000_without_internals(sim):
    answer = sim.api.post(T2V, {"prompt": "please #sim-crash"})
    message = assert_error(answer, 500, 5000)
    assert message == "internal error"
    assert "Traceback" not in answer.text and "secret.py" not in answer.text


def test_every_answer_has_a_distinct_request_id(sim):
    ids = {sim.api.get(T2V).headers["X-Request-Id"] for _ in range(3)}
    assert len(ids) == 3


# ---- Authentication -----------------------------------------------------------------------


def test_missing_authorization_is_1001(sim):
    answer = requests.post(sim.base_url + T2V, json={"prompt": "x"}, timeout=30)
    assert_error(answer, 401, 1001)


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc",
                                    "Bearer not-a-jwt"])
def test_malformed_authorization_is_1002(sim, header):
    answer = requests.post(sim.base_url + T2V, json={"prompt": "x"},
                           headers={"Authorization": header}, timeout=30)
    assert_error(answer, 401, 1002)


def _call_with_token(sim, token: str) -> requests.Response:
    return requests.get(sim.base_url + T2V, headers={"Authorization": f"Bearer {token}"},
                        timeout=30)


def test_token_not_yet_valid_is_1003(sim):
    token = kling_jwt.sign(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, now=sim.clock() + 60)
    assert_error(_call_with_token(sim, token), 401, 1003)


def test_expired_token_is_1004(sim):
    token = kling_jwt.sign(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, now=sim.clock() - 3600)
    assert_error(_call_with_token(sim, token), 401, 1004)


def test_unknown_access_key_is_1000(sim):
    token = kling_jwt.sign("nobody", DEFAULT_SECRET_KEY, now=sim.clock())
    assert_error(_call_with_token(sim, token), 401, 1000)


def test_wrong_secret_is_1000(sim):
    token = kling_jwt.sign(DEFAULT_ACCESS_KEY, "another-secret-0123456789abcdef0123",
                           now=sim.clock())
    assert_error(_call_with_token(sim, token), 401, 1000)


def test_small_clock_skew_is_tolerated(sim):
    early = kling_jwt.sign(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, now=sim.clock() + 8)
    # nbf = now + 8 - 5 = 3 s ahead of the server: within the skew
    assert _call_with_token(sim, early).status_code == 200
    late = kling_jwt.sign(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, now=sim.clock() - 1800 - 3,
                          lifetime=1800)
    assert _call_with_token(sim, late).status_code == 200


def test_docs_and_spec_need_no_token(sim):
    spec = requests.get(sim.base_url + "/v1/openapi.json", timeout=30)
    ui = requests.get(sim.base_url + "/v1/ui/", timeout=30)
    assert spec.status_code == 200 and spec.json()["openapi"] == "3.0.3"
    assert ui.status_code == 200 and "swagger" in ui.text.lower()


def test_json_without_a_content_type_is_1200(sim):
    answer = raw(sim, "POST", T2V, data=b'{"prompt": "x"}', headers={"Content-Type": ""})
    assert "Content-Type" in assert_error(answer, 400, 1200)


@pytest.mark.parametrize("task_id", ["a%0Ab", "abc%0A", "%0A", "%0D", "x%E2%80%A8y"])
def test_ids_with_line_breaks_are_simply_not_found(sim, task_id):
    assert_error(raw(sim, "GET", f"{T2V}/{task_id}"), 404, 1203)
