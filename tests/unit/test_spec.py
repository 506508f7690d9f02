"""The contract itself: valid, complete, documented, and every operation has a handler."""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

from kling_gateway.domain import families
from kling_gateway.domain.families import Verb
from kling_gateway.web.mounting import FamilyResolver
from kling_gateway.web.spec import bundle, load_spec, operations, spec_dir

REQUIRED_OPERATIONS = {
    ("POST", "/v1/videos/text2video"), ("GET", "/v1/videos/text2video"),
    ("GET", "/v1/videos/text2video/{id}"),
    ("POST", "/v1/videos/image2video"), ("GET", "/v1/videos/image2video"),
    ("GET", "/v1/videos/image2video/{id}"),
    ("POST", "/v1/videos/multi-image2video"), ("GET", "/v1/videos/multi-image2video"),
    ("GET", "/v1/videos/multi-image2video/{id}"),
    ("POST", "/v1/images/generations"), ("GET", "/v1/images/generations"),
    ("GET", "/v1/images/generations/{id}"),
    ("POST", "/v1/images/multi-image2image"), ("GET", "/v1/images/multi-image2image"),
    ("GET", "/v1/images/multi-image2image/{id}"),
    ("POST", "/v1/videos/multi-elements/init-selection"),
    ("POST", "/v1/videos/multi-elements/add-selection"),
    ("POST", "/v1/videos/multi-elements/delete-selection"),
    ("POST", "/v1/videos/multi-elements/clear-selection"),
    ("POST", "/v1/videos/multi-elements/preview-selection"),
    ("POST", "/v1/videos/multi-elements"), ("GET", "/v1/videos/multi-elements"),
    ("GET", "/v1/videos/multi-elements/{id}"),
    ("GET", "/account/costs"),
}
SPEC_FILES = sorted(Path(spec_dir()).glob("*.yaml"))
"""The roots; their parts live in subfolders (paths/, components/, admin/)."""


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_spec_file_is_valid_openapi_where_it_lies(path):
    """Standard tooling reading the root resolves its file $refs from the root's location."""
    validate(yaml.safe_load(path.read_text(encoding="utf-8")), base_uri=path.resolve().as_uri())


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_bundled_spec_is_valid_openapi_on_its_own(path):
    """What Connexion, Swagger UI and /openapi.json get: one document, internal $refs only,
    each component checked against the OpenAPI schema (which the root's check does not reach)."""
    spec = load_spec(path.name)
    validate(spec)
    refs = re.findall(r'"\$ref": "([^"]*)"', json.dumps(spec))
    assert refs and all(ref.startswith("#/components/") for ref in refs)


def test_every_part_file_belongs_to_exactly_one_spec():
    used = collections.Counter(part for root in SPEC_FILES for part in bundle(root)[1])
    parts = {path.resolve() for path in Path(spec_dir()).rglob("*.yaml")}
    assert {part for part in parts if used[part] != 1} == set()


def test_bundle_names_the_components_and_inlines_the_path_items(tmp_path):
    (tmp_path / "paths").mkdir()
    (tmp_path / "components" / "schemas").mkdir(parents=True)
    (tmp_path / "api.yaml").write_text(
        'paths:\n  /a: {$ref: "paths/a.yaml#/a"}\n'
        "components:\n  securitySchemes: {key: {type: http, scheme: bearer}}\n")
    (tmp_path / "paths" / "a.yaml").write_text(
        'a:\n  get:\n    responses:\n      "200": {$ref: "../components/responses.yaml#/Ok"}\n')
    (tmp_path / "components" / "responses.yaml").write_text(
        'Ok:\n  description: ok\n  content:\n    application/json:\n'
        '      schema: {$ref: "schemas/things.yaml#/Thing"}\n')
    (tmp_path / "components" / "schemas" / "things.yaml").write_text(
        'Thing: {type: array, items: {$ref: "#/Part"}}\nPart: {type: string}\n'
        "Unused: {type: integer}\n")

    spec, files = bundle(tmp_path / "api.yaml")

    assert spec == {
        "paths": {"/a": {"get": {"responses": {"200": {"$ref": "#/components/responses/Ok"}}}}},
        "components": {
            "securitySchemes": {"key": {"type": "http", "scheme": "bearer"}},
            "responses": {"Ok": {"description": "ok", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Thing"}}}}},
            "schemas": {"Thing": {"type": "array", "items": {"$ref": "#/components/schemas/Part"}},
                        "Part": {"type": "string"}, "Unused": {"type": "integer"}},
        },
    }
    assert len(files) == 4


def test_every_official_operation_is_in_the_spec():
    present = {(method, path) for method, path, _ in operations(load_spec())}
    assert REQUIRED_OPERATIONS - present == set()


def test_every_operation_has_examples_for_its_body_and_responses():
    spec = load_spec()
    resolve = lambda ref: spec["components"]["responses"][ref.rsplit("/", 1)[1]]  # noqa: E731
    for method, path, _ in operations(spec):
        operation = spec["paths"][path][method.lower()]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        assert body is None or "example" in body, f"{method} {path} request"
        for status, response in operation["responses"].items():
            content = resolve(response["$ref"])["content"]["application/json"]
            assert "example" in content, f"{method} {path} {status}"


def test_get_by_id_takes_task_id_or_external_task_id():
    spec = load_spec()
    parameter = spec["components"]["parameters"]["TaskId"]
    assert parameter["name"] == "id" and "external_task_id" in parameter["description"]


def test_paging_parameters_are_the_official_ones():
    parameters = load_spec()["components"]["parameters"]
    assert parameters["PageNum"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000,
                                               "default": 1}
    assert parameters["PageSize"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 500,
                                                "default": 30}


@pytest.mark.parametrize("package", ["kling_gateway.api", "kling_gateway.simulator.api"])
def test_every_operation_id_resolves_to_a_handler(package):
    resolver = FamilyResolver(package)
    for method, path, operation_id in operations(load_spec()):
        function = resolver.function_resolver(f"{package}.{operation_id}")
        assert callable(function), f"{method} {path}: {operation_id}"


def test_every_task_family_is_served_by_the_spec_at_its_path():
    spec = load_spec()
    for family in families.FAMILIES:
        for verb, operation_id in family.operations.items():
            path = family.path if verb is not Verb.GET else f"{family.path}/{{id}}"
            method = "post" if verb is Verb.CREATE else "get"
            assert spec["paths"][path][method]["operationId"] == operation_id
