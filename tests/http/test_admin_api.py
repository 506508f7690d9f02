"""The admin API over real HTTP, on SQLite and PostgreSQL: every operation, its errors, and the
books (after every test each user's ledger adds up to their balance)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from openapi_schema_validator import OAS30Validator

from kling_gateway import kling_jwt
from kling_gateway.app import ADMIN_BASE_PATH, create_app
from kling_gateway.config import Settings
from kling_gateway.domain.errors import AuthenticationFailed, TokenExpired
from kling_gateway.domain.money import parse_cny
from kling_gateway.services.auth import authenticate
from kling_gateway.storage import ledger
from kling_gateway.storage.db import database
from kling_gateway.storage.models import User
from kling_gateway.web.spec import load_spec, operations
from tests.support.server import serve

ADMIN_TOKEN = "admin-secret"
CNY = 10_000


class AdminApi:
    """A client of one running gateway's admin API that remembers every answer it got."""

    def __init__(self, base_url: str, token: str | None = ADMIN_TOKEN) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        if token is not None:
            self.http.headers["Authorization"] = f"Bearer {token}"
        self.answers: list[str] = []

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.http.request(method, self.base_url + path, timeout=30, **kwargs)
        self.answers.append(response.text)
        return response

    def data(self, method: str, path: str, **kwargs: Any) -> Any:
        """The ``data`` of a successful answer, failing the test on anything else."""
        response = self.call(method, path, **kwargs)
        assert response.status_code == 200, response.text
        body = response.json()
        assert list(body) == ["code", "message", "request_id", "data"]
        assert (body["code"], body["message"]) == (0, "SUCCEED")
        assert body["request_id"] == response.headers["X-Request-Id"]
        return body["data"]

    def error(self, method: str, path: str, status: int, code: int, **kwargs: Any) -> str:
        """The message of an error answer with this HTTP status and official code."""
        return assert_error(self.call(method, path, **kwargs), status, code)


def assert_error(response: requests.Response, status: int, code: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["code", "message", "request_id"]
    assert body["code"] == code, body
    assert body["request_id"] == response.headers["X-Request-Id"]
    return body["message"]


@contextmanager
def gateway(database_url: str, admin_token: str | None) -> Iterator[str]:
    """A gateway on ``database_url`` served over HTTP; yields the admin API's base URL."""
    settings = Settings(database_url=database_url, admin_token=admin_token)
    try:
        app = create_app(settings, validate_responses=True)
        with serve(app) as base_url:
            yield base_url + ADMIN_BASE_PATH
    finally:
        database.close()


@pytest.fixture
def admin(database_url: str) -> Iterator[AdminApi]:
    with gateway(database_url, ADMIN_TOKEN) as base_url:
        yield AdminApi(base_url)
        for user in User.select():
            assert ledger.balance_matches_ledger(user.id), f"{user.name}'s books do not add up"


def user_id(name: str) -> int:
    return User.get(User.name == name).id


def cny(text: str) -> int:
    return parse_cny(text, allow_negative=True)


# ---- users ----------------------------------------------------------------------------------


def test_user_is_created_shown_disabled_and_enabled(admin):
    created = admin.data("POST", "/users", json={"name": "acme-studio", "balance": "500"})
    assert created["name"] == "acme-studio" and created["balance"] == "500.00"
    assert created["disabled"] is False and isinstance(created["created_at"], int)

    assert admin.data("GET", "/users/acme-studio") == created
    assert admin.data("POST", "/users/acme-studio/disable")["disabled"] is True
    assert admin.data("GET", "/users/acme-studio")["disabled"] is True
    assert admin.data("POST", "/users/acme-studio/enable") == created


def test_opening_balance_is_the_first_ledger_entry(admin):
    admin.data("POST", "/users", json={"name": "ada", "balance": "12.3456"})
    (entry,) = admin.data("GET", "/users/ada/ledger")
    assert (entry["kind"], entry["amount"], entry["balance_after"], entry["note"]) == (
        "topup", "12.3456", "12.3456", "opening balance")
    assert admin.data("POST", "/users", json={"name": "bob"})["balance"] == "0.00"
    assert admin.data("GET", "/users/bob/ledger") == []


def test_users_are_listed_oldest_first_a_page_at_a_time(admin):
    for name in ("ada", "bob", "cy"):
        admin.data("POST", "/users", json={"name": name})
    names = lambda page: [u["name"] for u in page]  # noqa: E731
    assert names(admin.data("GET", "/users")) == ["ada", "bob", "cy"]
    assert names(admin.data("GET", "/users", params={"pageSize": 2})) == ["ada", "bob"]
    assert names(admin.data("GET", "/users", params={"pageNum": 2, "pageSize": 2})) == ["cy"]
    assert admin.data("GET", "/users", params={"pageNum": 3, "pageSize": 2}) == []


def test_top_up_and_adjustment_answer_their_ledger_entries(admin):
    admin.data("POST", "/users", json={"name": "ada", "balance": "10"})
    top_up = admin.data("POST", "/users/ada/topup",
                        json={"amount": "200.5", "note": "bank transfer ref 88213"})
    assert {k: top_up[k] for k in ("kind", "amount", "balance_after", "note")} == {
        "kind": "topup", "amount": "200.50", "balance_after": "210.50",
        "note": "bank transfer ref 88213"}
    assert (top_up["task_id"], top_up["token_id"], top_up["refund_of"]) == (None, None, None)

    down = admin.data("POST", "/users/ada/adjust",
                      json={"amount": "-15.25", "note": "duplicate top-up reversed"})
    assert (down["kind"], down["amount"], down["balance_after"]) == (
        "adjustment", "-15.25", "195.25")
    up = admin.data("POST", "/users/ada/adjust", json={"amount": "0.0001", "note": "rounding"})
    assert (up["amount"], up["balance_after"]) == ("0.0001", "195.2501")
    assert admin.data("GET", "/users/ada")["balance"] == "195.2501"


def test_top_up_note_is_optional(admin):
    admin.data("POST", "/users", json={"name": "ada"})
    assert admin.data("POST", "/users/ada/topup", json={"amount": "1"})["note"] == ""


# ---- tokens ---------------------------------------------------------------------------------


def test_issued_credentials_authenticate_with_the_api_key_and_with_a_jwt(admin):
    admin.data("POST", "/users", json={"name": "ada"})
    issued = admin.data("POST", "/users/ada/tokens", json={"name": "render-farm"})
    assert issued["name"] == "render-farm" and issued["revoked"] is False
    assert issued["api_key"].startswith("kg-") and issued["secret_key"]

    by_key = authenticate(f"Bearer {issued['api_key']}")
    jwt = kling_jwt.sign(issued["access_key"], issued["secret_key"])
    by_jwt = authenticate(f"Bearer {jwt}")
    assert by_key == by_jwt
    assert (by_key.user_name, by_key.token_id, by_key.allowed_models) == (
        "ada", issued["id"], None)
    with pytest.raises(AuthenticationFailed):
        authenticate(f"Bearer {kling_jwt.sign(issued['access_key'], 'not-the-secret-' * 4)}")


def test_token_list_masks_the_api_key_and_never_shows_the_secret(admin):
    admin.data("POST", "/users", json={"name": "ada"})
    issued = admin.data("POST", "/users/ada/tokens", json={})
    second = admin.data("POST", "/users/ada/tokens", json={"name": "ci"})
    after_creation = len(admin.answers)

    listed = admin.data("GET", "/users/ada/tokens")
    assert [t["id"] for t in listed] == [issued["id"], second["id"]]
    first = listed[0]
    assert "secret_key" not in first
    assert first["api_key"] == issued["api_key"][:7] + "…"
    assert first["access_key"] == issued["access_key"]
    assert {k: v for k, v in issued.items() if k not in ("api_key", "secret_key")} == {
        k: v for k, v in first.items() if k != "api_key"}

    admin.data("POST", f"/tokens/{issued['id']}/revoke")
    admin.data("GET", "/users/ada/tokens")
    for answer in admin.answers[after_creation:]:
        assert issued["secret_key"] not in answer and issued["api_key"] not in answer


def test_token_without_a_body_gets_the_defaults(admin):
    admin.data("POST", "/users", json={"name": "ada"})
    issued = admin.data("POST", "/users/ada/tokens")
    assert (issued["name"], issued["spend_limit"], issued["expires_at"],
            issued["allowed_models"], issued["spent"]) == ("default", None, None, None, "0.00")


def test_token_limits_are_kept_and_enforced_at_authentication(admin):
    admin.data("POST", "/users", json={"name": "ada"})
    expires_at = 1_900_000_000_000
    issued = admin.data("POST", "/users/ada/tokens", json={
        "name": "limited", "spend_limit": "100.5", "expires_at": expires_at,
        "allowed_models": ["kling-v1-6", "kling-v2-master"]})
    assert (issued["spend_limit"], issued["expires_at"], issued["allowed_models"]) == (
        "100.50", expires_at, ["kling-v1-6", "kling-v2-master"])

    header = f"Bearer {issued['api_key']}"
    caller = authenticate(header, now=expires_at / 1000 - 1)
    assert caller.allowed_models == ("kling-v1-6", "kling-v2-master")
    with pytest.raises(TokenExpired):
        authenticate(header, now=expires_at / 1000)


def test_revoked_token_and_disabled_user_are_refused(admin):
    admin.data("POST", "/users", json={"name": "ada"})
    keep = admin.data("POST", "/users/ada/tokens", json={"name": "keep"})
    drop = admin.data("POST", "/users/ada/tokens", json={"name": "drop"})

    revoked = admin.data("POST", f"/tokens/{drop['id']}/revoke")
    assert revoked["revoked"] is True and "secret_key" not in revoked
    assert admin.data("POST", f"/tokens/{drop['id']}/revoke")["revoked"] is True  # idempotent
    with pytest.raises(AuthenticationFailed, match="revoked"):
        authenticate(f"Bearer {drop['api_key']}")
    assert authenticate(f"Bearer {keep['api_key']}").token_id == keep["id"]

    admin.data("POST", "/users/ada/disable")
    with pytest.raises(AuthenticationFailed, match="disabled"):
        authenticate(f"Bearer {kling_jwt.sign(keep['access_key'], keep['secret_key'])}")
    admin.data("POST", "/users/ada/enable")
    assert authenticate(f"Bearer {keep['api_key']}").user_name == "ada"


def test_token_spending_shows_in_the_list(admin):
    admin.data("POST", "/users", json={"name": "ada", "balance": "50"})
    issued = admin.data("POST", "/users/ada/tokens", json={"spend_limit": "20"})
    charge = ledger.debit(user_id("ada"), 7 * CNY, token_id=issued["id"])
    ledger.debit(user_id("ada"), 3 * CNY, token_id=issued["id"])
    ledger.refund(charge.id, note="upstream failed")
    (listed,) = admin.data("GET", "/users/ada/tokens")
    assert (listed["spent"], listed["spend_limit"]) == ("3.00", "20.00")


# ---- prices ---------------------------------------------------------------------------------


def prices_of(admin: AdminApi) -> dict[str, str]:
    return {row["key"]: row["price"] for row in admin.data("GET", "/prices")}


def test_price_is_set_replaced_and_deleted_under_its_canonical_key(admin):
    key = "kling-video_kling-v1-6_pro_10"
    created = admin.data("PUT", "/prices/kling-video_kling-v1.6_pro_10", json={"price": "12"})
    assert (created["key"], created["price"]) == (key, "12.00")
    replaced = admin.data("PUT", f"/prices/{key}", json={"price": "13.0625"})
    assert (replaced["key"], replaced["price"]) == (key, "13.0625")
    assert prices_of(admin)[key] == "13.0625"

    assert admin.data("DELETE", "/prices/kling-video_kling-v1.6_pro_10") == {
        "key": key, "deleted": True}
    assert key not in prices_of(admin)
    admin.error("DELETE", f"/prices/{key}", 404, 1203)


def test_price_list_is_sorted_by_key(admin):
    keys = list(prices_of(admin))
    assert keys == sorted(keys) and keys, "the migration seeds the default prices"


def test_a_key_no_request_produces_is_refused_saying_what_a_key_looks_like(admin):
    before = prices_of(admin)
    message = admin.error("PUT", "/prices/kling-video_kling-v3_pro_2", 400, 1201,
                          json={"price": "1"})
    assert message.startswith("invalid parameter 'key': no request produces "
                              "'kling-video_kling-v3_pro_2': '2' is not a length in seconds")
    assert "kling-video_{model}_{std|pro}[_{3-15}][_sound|_voice]" in message
    assert "kling-image_{model}[_2k][_i2i]" in message
    message = admin.error("POST", "/prices/import", 400, 1201,
                          json={"kling-image_kling-v9": "1", "kling-imagen_kling-v9": "1"})
    assert "no request produces 'kling-imagen_kling-v9'" in message
    assert prices_of(admin) == before


def test_the_price_list_says_what_each_key_sells(admin):
    admin.data("PUT", "/prices/kling-video_kling-v9_pro_7_sound", json={"price": "9"})
    listed = {row.pop("key"): row for row in admin.data("GET", "/prices")}
    new = listed["kling-video_kling-v9_pro_7_sound"]
    assert new == {"price": "9.00", "updated_at": new["updated_at"],
                   "families": ["text2video", "image2video"], "model": "kling-v9", "mode": "pro",
                   "seconds": 7, "options": ["sound"], "per": "call",
                   "note": "Kling documents no model kling-v9 for text2video or image2video"}
    assert {k: listed["kling-image_kling-v2-1_2k_i2i"][k] for k in (
        "price", "families", "model", "mode", "seconds", "options", "per", "note")} == {
        "price": "0.20", "families": ["image-generation"], "model": "kling-v2-1", "mode": None,
        "seconds": None, "options": ["2k", "i2i"], "per": "image", "note": None}
    assert listed["kling-video_kling-v2-6_pro_voice"]["per"] == "second"
    assert listed["kling-init-selection"]["families"] == ["init-selection"]
    assert listed["kling-image_kling-v2-master"]["note"] == (
        "Kling documents no model kling-v2-master for image-generation")


def test_prices_import_from_a_json_object(admin):
    imported = admin.data("POST", "/prices/import", json={
        "kling-video_kling-v1.5_std_5": "3.50", "kling-image_kling-v2": "0.25"})
    assert imported == {"imported": 2}
    table = prices_of(admin)
    assert table["kling-video_kling-v1-5_std_5"] == "3.50"
    assert table["kling-image_kling-v2"] == "0.25"
    assert "kling-video_kling-v1.5_std_5" not in table


def test_prices_import_from_a_json_list_of_rows(admin):
    rows = [{"key": "kling-video_kling-v1.5_pro_10", "price": "31"},
            {"key": "kling-image_kling-v1", "price": "0.1"}]
    assert admin.data("POST", "/prices/import", json=rows) == {"imported": 2}
    table = prices_of(admin)
    assert (table["kling-video_kling-v1-5_pro_10"], table["kling-image_kling-v1"]) == (
        "31.00", "0.10")


def test_prices_import_from_csv(admin):
    csv_text = ("\ufeffkey,price\r\n"  # as a spreadsheet saves it: a BOM and CRLF line ends
                "kling-video_kling-v1.5_std_5,5.5\r\n"
                "kling-multi-image2image_kling-v2,0.2\r\n")
    imported = admin.data("POST", "/prices/import", data=csv_text.encode(),
                          headers={"Content-Type": "text/csv; charset=utf-8"})
    assert imported == {"imported": 2}
    table = prices_of(admin)
    assert table["kling-video_kling-v1-5_std_5"] == "5.50"
    assert table["kling-multi-image2image_kling-v2"] == "0.20"


@pytest.mark.parametrize(("kwargs", "code", "names"), [
    ({"json": {"kling-image_kling-v1": "0.1", "kling-image_kling-v2": "cheap"}}, 1201,
     "kling-image_kling-v2"),
    ({"json": [{"key": "kling-image_kling-v1", "price": "0.1"}, {"key": "x"}]}, 1201,
     "[1].price"),
    ({"json": {}}, 1201, "non-empty"),
    ({"json": "kling-image_kling-v1,0.1"}, 1201, "request body"),
    ({"data": b"key,price\nkling-image_kling-v1,0.1\nkling-image_kling-v2,-1\n",
      "headers": {"Content-Type": "text/csv"}}, 1201, "kling-image_kling-v2"),
    ({"data": b"model,cost\nkling-image_kling-v1,0.1\n",
      "headers": {"Content-Type": "text/csv"}}, 1201, "'key' and 'price'"),
    ({"data": b"", "headers": {"Content-Type": "text/csv"}}, 1201, "'key' and 'price'"),
    ({"data": b"key,price\nkling-image_kling-v1,\xff\n",
      "headers": {"Content-Type": "text/csv"}}, 1200, "UTF-8"),
    ({"data": b"key=price", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
     1200, "Content-Type"),
], ids=["json-bad-price", "json-row-without-price", "json-empty", "json-string",
        "csv-negative-price", "csv-wrong-columns", "csv-empty", "csv-not-utf8", "form"])
def test_bad_price_file_sets_nothing(admin, kwargs, code, names):
    before = prices_of(admin)
    assert names in admin.error("POST", "/prices/import", 400, code, **kwargs)
    assert prices_of(admin) == before


# ---- ledger and summary ---------------------------------------------------------------------


def test_ledger_is_newest_first_a_page_at_a_time(admin):
    admin.data("POST", "/users", json={"name": "ada", "balance": "10"})
    admin.data("POST", "/users/ada/topup", json={"amount": "1"})
    admin.data("POST", "/users/ada/topup", json={"amount": "2"})
    admin.data("POST", "/users/ada/adjust", json={"amount": "-0.5", "note": "goodwill back"})
    charge = ledger.debit(user_id("ada"), 3 * CNY, task_id=None,
                          price_key="kling-video_kling-v1_std_5")
    refund = ledger.refund(charge.id, note="upstream failed")

    first = admin.data("GET", "/users/ada/ledger", params={"pageSize": 4})
    second = admin.data("GET", "/users/ada/ledger", params={"pageNum": 2, "pageSize": 4})
    assert admin.data("GET", "/users/ada/ledger", params={"pageNum": 3, "pageSize": 4}) == []
    entries = first + second
    assert [e["kind"] for e in entries] == ["refund", "charge", "adjustment", "topup", "topup",
                                            "topup"]
    assert [e["amount"] for e in entries] == ["3.00", "-3.00", "-0.50", "2.00", "1.00", "10.00"]
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True) and len(first) == 4
    assert (entries[0]["id"], entries[0]["refund_of"]) == (refund.id, charge.id)
    assert entries[1]["price_key"] == "kling-video_kling-v1_std_5"
    running = 0
    for entry in reversed(entries):  # each balance_after follows from the one before
        running += cny(entry["amount"])
        assert cny(entry["balance_after"]) == running
    assert admin.data("GET", "/users/ada")["balance"] == entries[0]["balance_after"] == "12.50"


def test_summary_totals_follow_top_ups_charges_refunds_and_adjustments(admin):
    empty = admin.data("GET", "/summary")
    assert empty == {"users": 0, "balance": "0.00", "spent": "0.00", "topped_up": "0.00",
                     "adjusted": "0.00"}
    admin.data("POST", "/users", json={"name": "ada", "balance": "100"})
    admin.data("POST", "/users", json={"name": "bob"})
    admin.data("POST", "/users/ada/topup", json={"amount": "20"})
    admin.data("POST", "/users/bob/topup", json={"amount": "50"})
    ledger.debit(user_id("ada"), 30 * CNY, price_key="kling-video_kling-v1-6_pro_5")
    failed = ledger.debit(user_id("ada"), 5 * CNY, price_key="kling-image_kling-v1")
    ledger.refund(failed.id, note="upstream failed")
    ledger.refund(failed.id, note="a second refund is a no-op")
    admin.data("POST", "/users/ada/adjust", json={"amount": "-10", "note": "chargeback"})
    admin.data("POST", "/users/bob/adjust", json={"amount": "2.5", "note": "goodwill"})

    summary = admin.data("GET", "/summary")
    assert summary == {"users": 2, "balance": "132.50", "spent": "30.00",
                       "topped_up": "170.00", "adjusted": "-7.50"}
    assert cny(summary["balance"]) == (cny(summary["topped_up"]) - cny(summary["spent"])
                                       + cny(summary["adjusted"]))


# ---- authentication -------------------------------------------------------------------------


ADMIN_OPERATIONS = operations(load_spec("admin.yaml"))
PATH_VALUES = {"{name}": "ada", "{token_id}": "1", "{key}": "kling-image_kling-v1"}


def concrete(path: str) -> str:
    for placeholder, value in PATH_VALUES.items():
        path = path.replace(placeholder, value)
    return path


def test_every_operation_needs_the_admin_token(admin):
    for method, path, operation_id in ADMIN_OPERATIONS:
        url = admin.base_url + concrete(path)
        assert_error(requests.request(method, url, timeout=30), 401, 1001)
        wrong = {"Authorization": "Bearer not-the-admin-token"}
        message = assert_error(requests.request(method, url, headers=wrong, timeout=30), 401,
                               1000)
        assert "wrong admin token" in message, operation_id
    basic = {"Authorization": "Basic YWRtaW46c2VjcmV0"}
    assert_error(requests.get(admin.base_url + "/summary", headers=basic, timeout=30), 401, 1002)


def test_a_user_token_is_not_an_admin_token(admin):
    admin.data("POST", "/users", json={"name": "ada"})
    issued = admin.data("POST", "/users/ada/tokens")
    as_user = AdminApi(admin.base_url, token=issued["api_key"])
    as_user.error("GET", "/summary", 401, 1000)


def test_admin_api_is_disabled_without_an_admin_token(database_url):
    with gateway(database_url, admin_token=None) as base_url:
        for token in (ADMIN_TOKEN, "None"):
            message = AdminApi(base_url, token=token).error("GET", "/summary", 401, 1000)
            assert "KLING_GATEWAY_ADMIN_TOKEN" in message
        AdminApi(base_url, token=None).error("GET", "/summary", 401, 1001)


def test_the_contract_is_published_without_a_token(admin):
    spec = requests.get(admin.base_url + "/openapi.json", timeout=30).json()
    assert {op for _, _, op in operations(spec)} == {op for _, _, op in ADMIN_OPERATIONS}
    assert requests.get(admin.base_url + "/ui/", timeout=30).status_code == 200


# ---- invalid requests -----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/users", {"name": "cy", "balance": "12.345678"}, "'balance'"),
    ("POST", "/users", {"name": "cy", "balance": "abc"}, "'balance'"),
    ("POST", "/users", {"name": "cy", "balance": "1e3"}, "'balance'"),
    ("POST", "/users", {"name": "cy", "balance": 12}, "'balance'"),
    ("POST", "/users", {"name": "cy", "balance": "-1"}, "'balance'"),
    ("POST", "/users", {"name": "a/b"}, "'name'"),
    ("POST", "/users", {"name": ""}, "'name'"),
    ("POST", "/users", {}, "'name'"),
    ("POST", "/users", {"name": "cy", "balanse": "5"}, "balanse"),
    ("POST", "/users/ada/topup", {"amount": "-5"}, "'amount'"),
    ("POST", "/users/ada/topup", {"amount": "0"}, "'amount'"),
    ("POST", "/users/ada/topup", {"amount": "5.00001"}, "'amount'"),
    ("POST", "/users/ada/topup", {}, "'amount'"),
    ("POST", "/users/ada/adjust", {"amount": "-1"}, "'note'"),
    ("POST", "/users/ada/adjust", {"amount": "-1", "note": ""}, "'note'"),
    ("POST", "/users/ada/adjust", {"amount": "0", "note": "nothing"}, "'amount'"),
    ("POST", "/users/ada/adjust", {"amount": "--1", "note": "typo"}, "'amount'"),
    ("POST", "/users/ada/tokens", {"spend_limit": "ten"}, "'spend_limit'"),
    ("POST", "/users/ada/tokens", {"expires_at": "tomorrow"}, "'expires_at'"),
    ("POST", "/users/ada/tokens", {"expires_at": 2**63}, "'expires_at'"),
    ("POST", "/users/ada/tokens", {"allowed_models": []}, "'allowed_models'"),
    ("POST", "/users/ada/tokens", {"allowed_models": "kling-v1"}, "'allowed_models'"),
    ("PUT", "/prices/kling-image_kling-v1", {"price": "-0.1"}, "'price'"),
    ("PUT", "/prices/kling-image_kling-v1", {"price": 0.1}, "'price'"),
], ids=lambda value: value if isinstance(value, str) else None)
def test_invalid_parameter_is_1201_and_names_the_field(admin, method, path, body, field):
    admin.data("POST", "/users", json={"name": "ada", "balance": "10"})
    assert field in admin.error(method, path, 400, 1201, json=body)
    assert admin.data("GET", "/users/ada")["balance"] == "10.00"
    assert len(admin.data("GET", "/users")) == 1


@pytest.mark.parametrize("params", [{"pageNum": 0}, {"pageNum": 1001}, {"pageSize": 0},
                                    {"pageSize": 501}, {"pageSize": "many"}])
def test_paging_outside_the_official_bounds_is_1201(admin, params):
    admin.data("POST", "/users", json={"name": "ada"})
    name = next(iter(params))
    assert f"'{name}'" in admin.error("GET", "/users", 400, 1201, params=params)
    assert f"'{name}'" in admin.error("GET", "/users/ada/ledger", 400, 1201, params=params)


def test_body_that_is_not_json_is_1200(admin):
    admin.error("POST", "/users", 400, 1200, data=b'{"name": ',
                headers={"Content-Type": "application/json"})


def test_duplicate_user_is_1201(admin):
    admin.data("POST", "/users", json={"name": "ada", "balance": "5"})
    assert "exists" in admin.error("POST", "/users", 400, 1201, json={"name": "ada"})
    assert admin.data("GET", "/users/ada")["balance"] == "5.00"
    assert len(admin.data("GET", "/users/ada/ledger")) == 1


def test_adjustment_below_zero_is_1201_and_changes_nothing(admin):
    admin.data("POST", "/users", json={"name": "ada", "balance": "5"})
    message = admin.error("POST", "/users/ada/adjust", 400, 1201,
                          json={"amount": "-5.0001", "note": "too much"})
    assert "below zero" in message
    assert admin.data("GET", "/users/ada")["balance"] == "5.00"
    zero = admin.data("POST", "/users/ada/adjust", json={"amount": "-5", "note": "exactly all"})
    assert zero["balance_after"] == "0.00"


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/users/nobody", None),
    ("POST", "/users/nobody/disable", None),
    ("POST", "/users/nobody/enable", None),
    ("POST", "/users/nobody/topup", {"amount": "5"}),
    ("POST", "/users/nobody/adjust", {"amount": "5", "note": "n"}),
    ("POST", "/users/nobody/tokens", {}),
    ("GET", "/users/nobody/tokens", None),
    ("GET", "/users/nobody/ledger", None),
    ("POST", "/tokens/999999/revoke", None),
    ("DELETE", "/prices/kling-video_kling-v9_std_5", None),
    ("GET", "/no-such-thing", None),
], ids=lambda value: value if isinstance(value, str) else None)
def test_unknown_user_token_price_or_path_is_1203(admin, method, path, body):
    admin.data("POST", "/users", json={"name": "ada"})
    admin.error(method, path, 404, 1203, json=body)
    assert admin.data("GET", "/summary")["users"] == 1


# ---- the contract itself --------------------------------------------------------------------


def examples(spec: dict[str, Any]) -> Iterator[tuple[str, dict, Any]]:
    """(where, schema, example) for every request and response example of the spec."""
    responses = spec["components"]["responses"]
    for method, path, _ in operations(spec):
        operation = spec["paths"][path][method.lower()]
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            named = {n: e["value"] for n, e in content.get("examples", {}).items()}
            assert "example" in content or named, f"{method} {path} {media_type}: no example"
            for name, value in {"": content.get("example"), **named}.items():
                if value is not None and media_type == "application/json":
                    yield f"{method} {path} {name}", content["schema"], value
        for status, response in operation["responses"].items():
            content = responses[response["$ref"].rsplit("/", 1)[1]]["content"]
            media = content["application/json"]
            assert "example" in media, f"{method} {path} {status}: no example"
            yield f"{method} {path} {status}", media["schema"], media["example"]


def test_every_admin_example_matches_its_schema():
    spec = load_spec("admin.yaml")
    for where, schema, example in examples(spec):
        validator = OAS30Validator({**schema, "components": spec["components"]})
        errors = [error.message for error in validator.iter_errors(example)]
        assert errors == [], where
