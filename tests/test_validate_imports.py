"""`shardplan validate` runs on every commit through pre-commit: its start-up is its cost.

A clean spec must be validated without importing pydantic (the models are
built only when there is something to report), and never with the plan
builder, the schema exporter, jsonschema or the executor.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "examples" / "golden" / "golden.shardplan.yaml"


def _imported_modules(*args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "shardplan_compiler", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_validating_a_clean_spec_imports_neither_pydantic_nor_the_rest_of_the_tool() -> None:
    modules = _imported_modules("validate", str(GOLDEN))
    assert "shardplan_compiler.yaml_tree" in modules  # the probe sees our imports at all
    heavy = {
        name
        for name in modules
        if name.split(".")[0] in {"pydantic", "pydantic_core", "jsonschema", "shardplan_executor"}
        or name
        in {
            "shardplan_compiler.plan_build",
            "shardplan_compiler.schema_export",
            "shardplan_schemas.spec",
        }
    }
    assert heavy == set()


def test_version_is_answered_without_building_the_models() -> None:
    modules = _imported_modules("--version")
    assert "pydantic" not in modules
