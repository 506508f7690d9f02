"""The layering the layout promises: checked on the source, so a stray import fails CI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kling_gateway.domain.families import FAMILIES

SRC = Path(__file__).resolve().parents[2] / "src" / "kling_gateway"
FRAMEWORKS = ("flask", "connexion", "starlette", "peewee", "requests", "uvicorn")
STORAGE_INTERNALS = ("peewee", "playhouse", "kling_gateway.storage.models")
"""Only ``storage/`` builds queries: the layers above call its named queries and get records."""


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, by absolute name; ``from a import b`` counts as both ``a``
    and ``a.b`` (``b`` may be a module), and relative imports are resolved."""
    return imports_of_source(path, path.read_text(encoding="utf-8"))


def imports_of_source(path: Path, source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(path, node.module, node.level)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _absolute(path: Path, module: str | None, level: int) -> str:
    if not level:
        return module or ""
    package = ("kling_gateway", *path.relative_to(SRC).parent.parts)
    base = package[:len(package) - (level - 1)]
    return ".".join((*base, module) if module else base)


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(f"{prefix}.") for prefix in prefixes)


def modules(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (SRC / package).rglob("*.py"))


def relative(path: Path) -> str:
    return str(path.relative_to(SRC))


@pytest.mark.parametrize("path", modules("domain"), ids=lambda p: p.name)
def test_domain_knows_nothing_of_http_storage_or_other_layers(path):
    for name in imports_of(path):
        assert not name.startswith(FRAMEWORKS), f"{path.name} imports {name}"
        if name.startswith("kling_gateway."):
            assert name.startswith("kling_gateway.domain"), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", modules("web"), ids=lambda p: p.name)
def test_web_plumbing_does_not_depend_on_the_simulator(path):
    assert not any(n.startswith("kling_gateway.simulator") for n in imports_of(path))


FORBIDDEN = {
    "upstream": ("kling_gateway.storage", "kling_gateway.services", "kling_gateway.worker",
                 "kling_gateway.domain.ledger", "peewee", "playhouse"),
    "services": ("kling_gateway.worker", "kling_gateway.api", "kling_gateway.web",
                 "kling_gateway.cli"),
    "worker": ("kling_gateway.api", "kling_gateway.web", "kling_gateway.cli",
               "kling_gateway.simulator"),
}
"""What each layer may not import: ``upstream`` owns the channels but reads and writes them
only through its ``ChannelBook`` port; ``services`` are the request use cases, which the
background ``worker`` builds on, never the reverse."""


def violations(path: Path, source: str | None = None) -> list[str]:
    """The imports of ``path`` (or of ``source`` placed there) its layer forbids."""
    forbidden = FORBIDDEN[path.relative_to(SRC).parts[0]]
    found = imports_of(path) if source is None else imports_of_source(path, source)
    return sorted(name for name in found if under(name, forbidden))


@pytest.mark.parametrize("path", modules(*FORBIDDEN), ids=relative)
def test_each_layer_imports_only_what_it_may(path):
    assert violations(path) == []


@pytest.mark.parametrize(("layer", "source"), [
    ("upstream", "from kling_gateway.storage import channels"),
    ("upstream", "from ..storage.records import ChannelRecord"),
    ("upstream", "import kling_gateway.storage.tasks"),
    ("upstream", "from kling_gateway.services import task_sync"),
    ("upstream", "from kling_gateway.worker.policy import SyncPolicy"),
    ("services", "from kling_gateway.worker import callbacks"),
    ("services", "from ..worker.queue import dispatch_queued"),
    ("worker", "from kling_gateway.api import _gateway"),
])
def test_the_layer_check_refuses_a_forbidden_import(layer, source):
    path = SRC / layer / "probe.py"  # never written: only its place in the package counts
    assert violations(path, source)


def test_the_upstream_channels_are_read_through_a_port_storage_answers():
    from kling_gateway.storage.channel_book import StoredChannelBook
    from kling_gateway.upstream.channels import ChannelBook

    for name in ("in_rotation", "in_flight", "take_out"):
        assert callable(getattr(StoredChannelBook, name)), name
        assert hasattr(ChannelBook, name), name


@pytest.mark.parametrize("path", modules("api"), ids=relative)
def test_handlers_stay_thin(path):
    """A handler calls a service: it neither queries the storage nor calls out itself."""
    for name in imports_of(path):
        assert not under(name, ("peewee", "requests", "kling_gateway.storage")), name


@pytest.mark.parametrize("path", modules("services", "api", "web", "cli"), ids=relative)
def test_only_the_storage_knows_peewee(path):
    for name in imports_of(path):
        assert not under(name, STORAGE_INTERNALS), f"{relative(path)} imports {name}"


@pytest.mark.parametrize(("source", "found"), [
    ("import peewee", "peewee"),
    ("from peewee import fn", "peewee"),
    ("from kling_gateway.storage import models", "kling_gateway.storage.models"),
    ("from kling_gateway.storage.models import Task", "kling_gateway.storage.models"),
    ("from ..storage import models", "kling_gateway.storage.models"),
    ("from ..storage.models import Task", "kling_gateway.storage.models"),
    ("from . import models", "kling_gateway.services.models"),
])
def test_the_import_check_sees_every_spelling(source, found):
    path = SRC / "services" / "probe.py"  # never written: only its place in the package counts
    assert found in imports_of_source(path, source)


def modules_naming(name: str) -> set[str]:
    """The modules of ``src`` whose code holds the string ``name`` as a value of its own (a
    key, an argument), docstrings and longer strings aside."""
    found = set()
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(node, ast.Constant) and node.value == name for node in ast.walk(tree)):
            found.add(relative(path))
    return found


HOMONYMS = {"text2video": {"domain/rules/tools.py"}}
"""Where a family's name means something else: lip-sync's ``input.mode`` "text2video"."""


@pytest.mark.parametrize("family", [family.name for family in FAMILIES])
def test_a_family_is_named_in_at_most_three_modules(family):
    """Its entry, its behaviour in the simulator, and at most one more (the demo's example)."""
    named = modules_naming(family) - HOMONYMS.get(family, set())
    assert "domain/families.py" in named
    assert len(named) <= 3, sorted(named)


def test_the_naming_check_sees_a_family_named_elsewhere(tmp_path):
    assert "domain/families.py" in modules_naming("multi-elements")
    assert "domain/families.py" not in modules_naming("multi-elements-not-a-family")
