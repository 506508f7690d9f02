"""Channel management over the admin API, on SQLite and PostgreSQL: every operation, its errors,
and that no answer ever carries a channel's secret key (every answer of every test is searched)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kling_gateway.services.channels import OFFICIAL_BASE_URL
from kling_gateway.storage.models import Channel
from tests.http.test_admin_api import AdminApi, gateway

ADMIN_TOKEN = "admin-secret"
SECRET_MARK = "sk-never-answered"
"""Every secret key in these tests contains this; no answer may."""

VIEW_FIELDS = ["name", "base_url", "access_key", "secret_key_set", "priority", "weight",
               "enabled", "allowed_models", "max_concurrency", "created_at", "out_of_rotation"]


def secret(n: int) -> str:
    return f"{SECRET_MARK}-{n}-9c2e7b4f1a8d3c6e0b5f2a9d7c4e1b8f"


@pytest.fixture
def admin(database_url: str) -> Iterator[AdminApi]:
    with gateway(database_url, ADMIN_TOKEN) as base_url:
        api = AdminApi(base_url, ADMIN_TOKEN)
        yield api
        assert api.answers, "the test called the API"
        for answer in api.answers:
            assert SECRET_MARK not in answer, answer


def add(admin: AdminApi, name: str, n: int = 1, **fields: Any) -> dict[str, Any]:
    body = {"name": name, "access_key": f"ak-{name}", "secret_key": secret(n), **fields}
    return admin.data("POST", "/channels", json=body)


def stored_secret(name: str) -> str:
    return Channel.get(Channel.name == name).secret_key


# ---- create, show, list ---------------------------------------------------------------------


def test_channel_gets_the_defaults_and_is_shown_without_its_secret(admin):
    created = add(admin, "beijing")
    assert list(created) == VIEW_FIELDS
    assert {k: v for k, v in created.items() if k != "created_at"} == {
        "name": "beijing", "base_url": OFFICIAL_BASE_URL, "access_key": "ak-beijing",
        "secret_key_set": True, "priority": 0, "weight": 1, "enabled": True,
        "allowed_models": None, "max_concurrency": None, "out_of_rotation": None}
    assert isinstance(created["created_at"], int)
    assert admin.data("GET", "/channels/beijing") == created
    assert stored_secret("beijing") == secret(1)


def test_channel_keeps_every_field_it_is_given(admin):
    created = add(admin, "sim", base_url="http://127.0.0.1:8080/kling/", priority=-3,
                  weight=0, enabled=False, allowed_models=["kling-v1-6", "kling-v2-master"],
                  max_concurrency=4)
    assert {k: created[k] for k in VIEW_FIELDS[1:-2]} == {
        "base_url": "http://127.0.0.1:8080/kling", "access_key": "ak-sim",
        "secret_key_set": True, "priority": -3, "weight": 0, "enabled": False,
        "allowed_models": ["kling-v1-6", "kling-v2-master"], "max_concurrency": 4}
    assert admin.data("GET", "/channels/sim") == created


def test_channels_are_listed_highest_priority_first_then_by_name(admin):
    assert admin.data("GET", "/channels") == []
    add(admin, "b-low", 1, priority=-1)
    add(admin, "c-mid", 2)
    add(admin, "a-mid", 3)
    add(admin, "z-high", 4, priority=5)
    listed = admin.data("GET", "/channels")
    assert [c["name"] for c in listed] == ["z-high", "a-mid", "c-mid", "b-low"]
    assert all(list(c) == VIEW_FIELDS and c["secret_key_set"] for c in listed)


# ---- update, disable, enable ----------------------------------------------------------------


def test_update_changes_only_the_fields_given(admin):
    created = add(admin, "beijing", allowed_models=["kling-v1"], max_concurrency=2)
    updated = admin.data("PATCH", "/channels/beijing", json={"priority": 7, "weight": 4})
    assert updated == {**created, "priority": 7, "weight": 4}
    assert admin.data("GET", "/channels/beijing") == updated
    assert stored_secret("beijing") == secret(1)


def test_keys_are_rotated_and_the_new_secret_is_not_answered(admin):
    created = add(admin, "beijing")
    rotated = admin.data("PATCH", "/channels/beijing",
                         json={"access_key": "ak-rotated", "secret_key": secret(2)})
    assert rotated == {**created, "access_key": "ak-rotated"}
    assert stored_secret("beijing") == secret(2)
    admin.data("PATCH", "/channels/beijing", json={"secret_key": secret(3)})
    assert stored_secret("beijing") == secret(3)
    assert admin.data("GET", "/channels/beijing")["access_key"] == "ak-rotated"


def test_update_sets_and_clears_models_and_the_concurrency_limit(admin):
    add(admin, "beijing")
    limited = admin.data("PATCH", "/channels/beijing", json={
        "allowed_models": ["kling-v2-master"], "max_concurrency": 3,
        "base_url": "https://api-singapore.klingai.com/", "enabled": False})
    assert (limited["allowed_models"], limited["max_concurrency"], limited["base_url"],
            limited["enabled"]) == (["kling-v2-master"], 3,
                                    "https://api-singapore.klingai.com", False)
    cleared = admin.data("PATCH", "/channels/beijing",
                         json={"allowed_models": None, "max_concurrency": None})
    assert (cleared["allowed_models"], cleared["max_concurrency"]) == (None, None)
    assert cleared["base_url"] == "https://api-singapore.klingai.com"


def test_channel_is_disabled_and_enabled_again(admin):
    created = add(admin, "beijing")
    assert admin.data("POST", "/channels/beijing/disable") == {**created, "enabled": False}
    assert admin.data("POST", "/channels/beijing/disable")["enabled"] is False  # idempotent
    assert admin.data("GET", "/channels/beijing")["enabled"] is False
    assert admin.data("POST", "/channels/beijing/enable") == created
    assert admin.data("POST", "/channels/beijing/enable") == created


# ---- errors ---------------------------------------------------------------------------------


def test_duplicate_name_is_1201_and_keeps_the_first_channel(admin):
    created = add(admin, "beijing", 1, priority=2)
    message = admin.error("POST", "/channels", 400, 1201, json={
        "name": "beijing", "access_key": "ak-other", "secret_key": secret(2)})
    assert "'name'" in message and "exists" in message
    assert admin.data("GET", "/channels") == [created]
    assert stored_secret("beijing") == secret(1)


BAD_BASE_URLS = ["ftp://api.klingai.com", "api-beijing.klingai.com", "https://", "https:/x",
                 "https://api klingai.com", "", "https://" + "a" * 500]


@pytest.mark.parametrize("base_url", BAD_BASE_URLS)
def test_bad_base_url_is_1201_on_create_and_update(admin, base_url):
    message = admin.error("POST", "/channels", 400, 1201, json={
        "name": "beijing", "base_url": base_url, "access_key": "ak", "secret_key": secret(1)})
    assert "'base_url'" in message
    created = add(admin, "beijing")
    message = admin.error("PATCH", "/channels/beijing", 400, 1201, json={"base_url": base_url})
    assert "'base_url'" in message
    assert admin.data("GET", "/channels") == [created]


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "a/b"}, "'name'"),
    ({"name": ""}, "'name'"),
    ({"name": "x" * 101}, "'name'"),
    ({"access_key": None}, "'access_key'"),
    ({"access_key": ""}, "'access_key'"),
    ({"secret_key": ""}, "'secret_key'"),
    ({"secret_key": None}, "'secret_key'"),
    ({"weight": -1}, "'weight'"),
    ({"weight": 2**31}, "'weight'"),
    ({"priority": "high"}, "'priority'"),
    ({"priority": 2**31}, "'priority'"),
    ({"max_concurrency": 0}, "'max_concurrency'"),
    ({"allowed_models": []}, "'allowed_models'"),
    ({"allowed_models": ["kling-v1", "kling-v1"]}, "'allowed_models'"),
    ({"allowed_models": "kling-v1"}, "'allowed_models'"),
    ({"enabled": "yes"}, "'enabled'"),
    ({"secret": "typo"}, "secret"),
], ids=lambda value: None if isinstance(value, dict) else value)
def test_invalid_channel_field_is_1201_and_names_it(admin, body, field):
    full = {"name": "beijing", "access_key": "ak", "secret_key": secret(1), **body}
    assert field in admin.error("POST", "/channels", 400, 1201, json=full)
    assert admin.data("GET", "/channels") == []


@pytest.mark.parametrize("missing", ["name", "access_key", "secret_key"])
def test_create_without_a_required_field_is_1201(admin, missing):
    body = {"name": "beijing", "access_key": "ak", "secret_key": secret(1)}
    del body[missing]
    message = admin.error("POST", "/channels", 400, 1201, json=body)
    assert message == f"missing required parameter '{missing}'"


@pytest.mark.parametrize(("body", "field"), [
    ({}, "request body"),
    ({"name": "renamed"}, "name"),
    ({"weight": -1}, "'weight'"),
    ({"max_concurrency": 0}, "'max_concurrency'"),
    ({"allowed_models": []}, "'allowed_models'"),
    ({"priority": None}, "'priority'"),
    ({"enabled": None}, "'enabled'"),
    ({"secret_key": ""}, "'secret_key'"),
], ids=lambda value: None if isinstance(value, dict) else value)
def test_invalid_update_is_1201_and_changes_nothing(admin, body, field):
    created = add(admin, "beijing")
    assert field in admin.error("PATCH", "/channels/beijing", 400, 1201, json=body)
    assert admin.data("GET", "/channels") == [created]
    assert stored_secret("beijing") == secret(1)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/channels/nowhere", None),
    ("PATCH", "/channels/nowhere", {"weight": 2}),
    ("PATCH", "/channels/nowhere", {"secret_key": secret(9)}),
    ("POST", "/channels/nowhere/disable", None),
    ("POST", "/channels/nowhere/enable", None),
], ids=lambda value: value if isinstance(value, str) else None)
def test_unknown_channel_is_1203(admin, method, path, body):
    created = add(admin, "beijing")
    assert admin.error(method, path, 404, 1203, json=body) == "no channel 'nowhere'"
    assert admin.data("GET", "/channels") == [created]


@pytest.mark.parametrize("refused", ["refused-secret-" + "0123456789abcdef" * 16,  # > 256
                                     ["refused-secret"]], ids=["too-long", "not-a-string"])
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_refused_secret_key_is_not_quoted_in_the_error(admin, method, refused):
    add(admin, "beijing")
    body: dict[str, Any] = {"secret_key": refused}
    if method == "POST":
        body.update(name="other", access_key="ak")
    path = "/channels" if method == "POST" else "/channels/beijing"
    message = admin.error(method, path, 400, 1201, json=body)
    assert "'secret_key'" in message
    assert "refused-secret" not in admin.answers[-1]
