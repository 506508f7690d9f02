"""The built wheel works without the checkout: what the Dockerfile relies on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

PROBE = """
import json, sys
from kling_gateway.web.spec import spec_dir, load_spec
from kling_gateway.storage.db import open_database
from kling_gateway.storage.migrations import migrate
open_database(sys.argv[1])
print(json.dumps({"spec_dir": str(spec_dir()), "applied": migrate(),
                  "operations": len(load_spec()["paths"])}))
"""


def test_the_wheel_carries_the_contract_and_the_migrations(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path / "dist"), str(ROOT)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("kling_gateway-*.whl")
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(site), str(wheel)], check=True, capture_output=True)

    result = subprocess.run(
        [sys.executable, "-c", PROBE, f"sqlite:///{tmp_path / 'g.sqlite3'}"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True, text=True, check=True)

    report = json.loads(result.stdout)
    assert report["spec_dir"].startswith(str(site))
    assert report["applied"][:2] == ["0001_initial", "0002_seed_prices"]
    assert report["operations"] >= 17
