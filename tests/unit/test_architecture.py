"""The layering the layout promises: checked on the source, so a stray import fails CI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "kling_gateway"
FRAMEWORKS = ("flask", "connexion", "starlette", "peewee", "requests", "uvicorn")


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


@pytest.mark.parametrize("path", modules("domain"), ids=lambda p: p.name)
def test_domain_knows_nothing_of_http_storage_or_other_layers(path):
    for name in imports_of(path):
        assert not name.startswith(FRAMEWORKS), f"{path.name} imports {name}"
        if name.startswith("kling_gateway."):
            assert name.startswith("kling_gateway.domain"), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", modules("web"), ids=lambda p: p.name)
def test_web_plumbing_does_not_depend_on_the_simulator(path):
    assert not any(n.startswith("kling_gateway.simulator") for n in imports_of(path))


@pytest.mark.parametrize("path", modules("upstream"), ids=lambda p: p.name)
def test_the_upstream_client_knows_nothing_of_billing_or_storage(path):
    for name in imports_of(path):
        assert not name.startswith(("kling_gateway.storage", "kling_gateway.services",
                                    "kling_gateway.domain.ledger", "peewee")), name


@pytest.mark.parametrize("path", modules("api"), ids=lambda p: p.name)
def test_handlers_stay_thin(path):
    for name in imports_of(path):
        assert not name.startswith(("peewee", "requests", "kling_gateway.storage.models")), name
