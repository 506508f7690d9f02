"""/healthz says the process is up; /readyz says whether the instance can serve: database
reachable, every migration applied. Neither needs credentials."""

from __future__ import annotations

from typing import Any

import jsonschema
import requests

from kling_gateway.services import monitoring
from kling_gateway.storage.db import open_database
from kling_gateway.storage.models import SchemaMigration
from kling_gateway.web.spec import load_spec

SPEC = load_spec("ops.yaml")


def assert_conforms(answer: requests.Response, path: str) -> dict[str, Any]:
    """The answer is one the contract (openapi/ops.yaml) describes for ``path``."""
    described = SPEC["paths"][path]["get"]["responses"][str(answer.status_code)]
    schema = described["content"]["application/json"]["schema"]
    assert answer.headers["Content-Type"] == "application/json"
    jsonschema.validate(answer.json(), {**schema, "components": SPEC["components"]})
    return answer.json()


def test_healthz_answers_ok_without_credentials(gateway):
    answer = requests.get(f"{gateway.base_url}/healthz", timeout=10)
    assert answer.status_code == 200
    assert assert_conforms(answer, "/healthz") == {"status": "ok"}
    assert answer.headers["X-Request-Id"]


def test_readyz_is_ok_on_a_migrated_database(gateway):
    answer = requests.get(f"{gateway.base_url}/readyz", timeout=10)
    assert answer.status_code == 200
    assert assert_conforms(answer, "/readyz") == {"status": "ok", "problems": []}


def test_readyz_is_503_and_names_a_pending_migration(gateway):
    newest = SchemaMigration.select().order_by(SchemaMigration.version.desc()).first()
    SchemaMigration.delete().where(SchemaMigration.version == newest.version).execute()

    answer = requests.get(f"{gateway.base_url}/readyz", timeout=10)

    assert answer.status_code == 503
    assert assert_conforms(answer, "/readyz") == {"status": "unavailable",
                             "problems": [f"database migrations pending: {newest.version}"]}
    assert requests.get(f"{gateway.base_url}/healthz", timeout=10).status_code == 200


def test_readiness_names_an_unreachable_database_without_its_url():
    open_database("postgresql://nobody:hunter2@127.0.0.1:1/none?connect_timeout=2")
    problems = monitoring.readiness()
    assert problems == ["database unreachable (OperationalError)"]
    assert "hunter2" not in problems[0]


def test_other_methods_get_the_official_envelope(gateway):
    answer = requests.post(f"{gateway.base_url}/healthz", timeout=10)
    assert answer.json()["code"] == 1202
    assert answer.json()["request_id"] == answer.headers["X-Request-Id"]


def test_the_kling_api_docs_at_the_root_stay_reachable(gateway):
    for path in ("/v1/ui/", "/v1/openapi.json", "/kling/v1/ui/"):
        assert requests.get(f"{gateway.base_url}{path}", timeout=10).status_code == 200, path


def test_the_ops_endpoints_are_not_part_of_the_kling_api(gateway):
    for path in ("/kling/healthz", "/kling/v1/healthz", "/v1/metrics"):
        answer = requests.get(f"{gateway.base_url}{path}", timeout=10)
        assert answer.status_code == 404, path
        assert answer.json()["code"] == 1203
