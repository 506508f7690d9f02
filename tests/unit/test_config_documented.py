"""The README's configuration table names every environment variable the code reads, and only
those: a variable added without its row, or a row left behind by a removed one, fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VARIABLE = re.compile(r"\b(?:KLING_GATEWAY_[A-Z0-9_]*[A-Z0-9]|PROMETHEUS_MULTIPROC_DIR)\b")
TABLE_HEADER = "| Variable | Meaning | Default |"


def variables_in_source() -> set[str]:
    return {name for path in sorted((ROOT / "src").rglob("*.py"))
            for name in VARIABLE.findall(path.read_text(encoding="utf-8"))}


def configuration_tables() -> list[list[str]]:
    """Every README table headed like the configuration table, as its lines."""
    tables: list[list[str]] = []
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if line.strip() == TABLE_HEADER:
            rows = []
            for row in lines[number + 2:]:  # past the |---| line
                if not row.startswith("|"):
                    break
                rows.append(row)
            tables.append(rows)
    return tables


def documented_variables() -> list[str]:
    (rows,) = configuration_tables()  # one table, not one per section
    return [re.match(r"\|\s*`([^`]+)`", row).group(1) for row in rows]


def test_the_source_scan_finds_the_variables_it_should():
    found = variables_in_source()
    assert {"KLING_GATEWAY_DATABASE_URL", "KLING_GATEWAY_OLD_SECRET_KEYS",
            "KLING_GATEWAY_MAX_BODY_BYTES", "KLING_GATEWAY_LOG_FORMAT",
            "KLING_GATEWAY_STATEMENT_TIMEOUT_MS", "PROMETHEUS_MULTIPROC_DIR"} <= found


def test_every_variable_the_code_reads_has_a_row():
    missing = variables_in_source() - set(documented_variables())
    assert not missing, f"add to the README's configuration table: {sorted(missing)}"


def test_every_row_names_a_variable_the_code_reads_once():
    documented = documented_variables()
    assert len(documented) == len(set(documented)), "a variable has two rows"
    stale = set(documented) - variables_in_source()
    assert not stale, f"the code no longer reads: {sorted(stale)}"
