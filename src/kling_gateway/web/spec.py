"""Finding and loading the hand-written OpenAPI contract.

A spec is a root file directly in ``openapi/`` (``kling.yaml``, ``admin.yaml``, …) whose path
items and components may live in files of their own, reached by relative references such as
``paths/videos.yaml#/text2video`` or ``../components/schemas/tasks.yaml#/Task``. Connexion is
given a dict, which cannot point at other files, so :func:`bundle` folds them into one document:

- a ``$ref`` into a file under a ``components/`` folder names a component. The folder or file
  right under ``components/`` is the section (``components/parameters.yaml``,
  ``components/schemas/tasks.yaml``) and the key is the name, so the ``$ref`` becomes
  ``#/components/schemas/Task``, and every entry of that file is put in that section. Swagger UI
  and generated clients therefore see the same named schemas as in a single-file spec;
- any other file ``$ref`` (a path item) is replaced by what it points at;
- a ``$ref`` into the root itself stays a ``#/…`` reference.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

import yaml

_PACKAGED = Path(__file__).resolve().parent.parent / "openapi"
_CHECKOUT = Path(__file__).resolve().parents[3] / "openapi"
_SECTIONS = {"schemas", "responses", "parameters", "examples", "requestBodies", "headers",
             "securitySchemes", "links", "callbacks"}


def spec_dir() -> Path:
    """The ``openapi/`` folder: the copy inside an installed wheel, else the checkout's."""
    return _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT


def bundle(root: Path, document: dict[str, Any] | None = None,
           ) -> tuple[dict[str, Any], frozenset[Path]]:
    """The document of the spec file ``root`` with every file ``$ref`` resolved (see the
    module's docstring), and the files it was made of, ``root`` included. A ``document`` given
    is used as the content of ``root`` instead of the file (e.g. a root with paths added)."""
    bundler = _Bundler(root.resolve())
    if document is not None:
        bundler.documents[bundler.root] = document
    spec = bundler.resolve(bundler.read(bundler.root), bundler.root)
    if bundler.components:
        components = spec.setdefault("components", {})
        for section, entries in bundler.components.items():
            clash = components.get(section, {}).keys() & entries.keys()
            if clash:
                raise ValueError(f"{root}: components/{section} defined twice: {sorted(clash)}")
            components.setdefault(section, {}).update(entries)
    return spec, frozenset(bundler.documents)


class _Bundler:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.documents: dict[Path, Any] = {}
        self.components: dict[str, dict[str, Any]] = {}
        self.placed: set[Path] = set()

    def read(self, path: Path) -> Any:
        if path not in self.documents:
            with path.open(encoding="utf-8") as handle:
                self.documents[path] = yaml.safe_load(handle)
        return self.documents[path]

    def resolve(self, node: Any, base: Path) -> Any:
        """A copy of ``node``, found in the file ``base``, with its file references resolved."""
        if isinstance(node, list):
            return [self.resolve(item, base) for item in node]
        if not isinstance(node, dict):
            return node
        if isinstance(node.get("$ref"), str):
            if len(node) > 1:
                raise ValueError(f"{base}: a $ref with siblings: {node}")
            return self.follow(node["$ref"], base)
        return {key: self.resolve(value, base) for key, value in node.items()}

    def follow(self, ref: str, base: Path) -> Any:
        location, _, pointer = ref.partition("#")
        target = (base.parent / location).resolve() if location else base
        if target == self.root:
            return {"$ref": f"#{pointer}"}
        section = self.section(target)
        if section is None:
            return self.resolve(_lookup(self.read(target), pointer, ref), target)
        name = pointer.removeprefix("/")
        if "/" in name or name not in self.read(target):
            raise ValueError(f"{base}: {ref} does not name an entry of {target.name}")
        self.place(section, target)
        return {"$ref": f"#/components/{section}/{name}"}

    def section(self, path: Path) -> str | None:
        """``schemas`` for ``…/components/schemas.yaml`` or ``…/components/schemas/*.yaml``
        (below the folder the root and ``path`` share, so a root in a subfolder works too)."""
        parts = path.relative_to(os.path.commonpath([self.root.parent, path])).parts
        if "components" not in parts[:-1]:
            return None
        section = Path(parts[parts.index("components") + 1]).stem
        if section not in _SECTIONS:
            raise ValueError(f"{path}: components/{section} is not a section of components")
        return section

    def place(self, section: str, path: Path) -> None:
        """Every entry of the component file ``path``, in the file's order."""
        if path in self.placed:
            return
        self.placed.add(path)
        entries = self.components.setdefault(section, {})
        document = self.read(path)
        clash = entries.keys() & document.keys()
        if clash:
            raise ValueError(f"{path}: components/{section} defined twice: {sorted(clash)}")
        entries.update(dict.fromkeys(document))  # the file's order, whatever it refers to
        for name, value in document.items():
            entries[name] = self.resolve(value, path)


def _lookup(document: Any, pointer: str, ref: str) -> Any:
    node = document
    for token in filter(None, pointer.split("/")):
        token = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or token not in node:
            raise ValueError(f"{ref}: no {token!r} there")
        node = node[token]
    return node


@functools.cache
def _load(name: str) -> dict[str, Any]:
    return bundle(spec_dir() / name)[0]


def load_spec(name: str = "kling.yaml") -> dict[str, Any]:
    """The bundled spec. Callers get their own copy because Connexion annotates what it is given."""
    return copy.deepcopy(_load(name))


def operations(spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(METHOD, path, operationId)`` for every operation of a spec."""
    methods = {"get", "post", "put", "patch", "delete"}
    return [(method.upper(), path, op["operationId"])
            for path, item in spec["paths"].items()
            for method, op in item.items() if method in methods]
