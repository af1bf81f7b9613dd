"""examples/rentl: a project as `rentl init` lays it out, and its imported spec, kept in step.

Like the generated schemas, the checked-in spec must be byte-identical to a
fresh import; when it is not, re-run the command the spec's header names.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from shardplan_compiler.compile_spec import compile_loaded_spec
from shardplan_compiler.rentl.importer import import_rentl
from shardplan_compiler.spec_loading import load_spec

from .helpers import EXAMPLE, REPO

SPEC = EXAMPLE / "shardplan.yaml"
SCHEMA = REPO / "generated" / "pipeline-spec.schema.json"
COMMAND = (
    "shardplan import rentl rentl.toml -o shardplan.yaml --force "
    "--schema ../../generated/pipeline-spec.schema.json"
)


def _fresh_import(cwd: Path) -> str | None:
    here = os.getcwd()
    os.chdir(cwd)
    try:
        result = import_rentl(
            Path("rentl.toml"),
            Path("."),
            "../../generated/pipeline-spec.schema.json",
            COMMAND,
        )
    finally:
        os.chdir(here)
    return result.spec_text


def test_the_checked_in_spec_is_a_fresh_import() -> None:
    fresh = _fresh_import(EXAMPLE)
    assert fresh is not None
    assert SPEC.read_text(encoding="utf-8") == fresh, f"re-import: cd examples/rentl && {COMMAND}"
    assert f"# To import again after editing rentl.toml: {COMMAND}" in fresh


def test_the_example_is_laid_out_as_rentl_init_does() -> None:
    toml = (EXAMPLE / "rentl.toml").read_text(encoding="utf-8")
    for table in (
        "[project]",
        "[project.paths]",
        "[project.formats]",
        "[project.languages]",
        "[logging]",
        "[endpoint]",
        "[pipeline]",
        "[pipeline.default_model]",
        "[[pipeline.phases]]",
        "[concurrency]",
        "[retry]",
        "[cache]",
    ):
        assert f"\n{table}\n" in f"\n{toml}", table
    assert "execution" not in toml  # rentl init writes none: every phase runs on defaults
    assert (EXAMPLE / "input" / "golden.jsonl").is_file()


def test_the_example_imports_with_only_the_not_carried_info_and_compiles_fast() -> None:
    started = time.perf_counter()
    here = os.getcwd()
    os.chdir(EXAMPLE)
    try:
        result = import_rentl(Path("rentl.toml"), Path("."), "x", "y")
    finally:
        os.chdir(here)
    assert [d.code for d in result.diagnostics] == ["SP740"]
    loaded = load_spec(SPEC)
    assert loaded.diagnostics == []
    compiled = compile_loaded_spec(loaded, None, EXAMPLE)
    elapsed = time.perf_counter() - started
    assert compiled.ok, compiled.diagnostics
    assert SCHEMA.is_file()
    # The bound is 0.5 s on a quiet machine; a busy CI runner gets twice that.
    assert elapsed < 1.0, f"import + compile took {elapsed:.3f}s"
