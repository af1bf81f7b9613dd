"""`shardplan validate` end to end: output, exit codes, format selection, lean imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from shardplan_compiler.cli import main

from .helpers import VALID

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "examples" / "golden" / "golden.shardplan.yaml"
BROKEN = ROOT / "examples" / "broken"


def write(tmp_path: Path, text: str, name: str = "spec.shardplan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["validate", *args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_clean_spec(tmp_path: Path) -> None:
    code, out, err = invoke(str(GOLDEN), env={"GITHUB_ACTIONS": "false"})
    assert (code, out) == (0, "")
    assert "1 file checked, no problems" in err


def test_errors_in_text(tmp_path: Path) -> None:
    spec = write(tmp_path, VALID.replace("chunk_size: 10", "chunk_size: 0"))
    code, out, err = invoke(str(spec), "--format", "text")
    assert code == 1
    assert out == (
        f"{spec}:12:46: error[SP204] `phases[1].execution.chunk_size` is the integer 0; "
        "it must be greater than 0\n"
    )
    assert "1 error, 0 warnings in 1 of 1 file" in err


def test_several_files_in_one_run_json(tmp_path: Path) -> None:
    bad = write(tmp_path, VALID.replace("project: demo", "project: [x]"), "a.shardplan.yaml")
    code, out, _ = invoke(str(GOLDEN), str(bad), "--format", "json")
    assert code == 1
    rows = json.loads(out)
    assert [(r["path"], r["line"], r["column"], r["code"]) for r in rows] == [
        (str(bad), 2, 10, "SP203")
    ]
    assert rows[0]["pointer"] == "/project"


def test_warnings_pass_unless_strict(tmp_path: Path) -> None:
    spec = write(
        tmp_path, VALID.replace("  - phase: export\n", "  - phase: export\n    execution: {}\n")
    )
    assert invoke(str(spec))[0] == 0
    code, out, _ = invoke(str(spec), "--strict", "--format", "text")
    assert code == 1
    assert "warning[SP307]" in out


def test_missing_file_and_directory_exit_2(tmp_path: Path) -> None:
    code, out, _ = invoke(str(tmp_path / "nope.yaml"), "--format", "text")
    assert code == 2
    assert "does not exist" in out
    code, out, _ = invoke(str(tmp_path), str(GOLDEN), "--format", "text")
    assert code == 2
    assert "is a directory" in out


def test_github_format_is_the_default_in_github_actions(tmp_path: Path) -> None:
    spec = write(tmp_path, VALID.replace("version: 1", "version: 2"))
    _, out, _ = invoke(str(spec), env={"GITHUB_ACTIONS": "true"})
    assert out.startswith(f"::error file={spec},line=1,col=10,title=SP208 unsupported-version::")
    _, out, _ = invoke(str(spec), "--format", "text", env={"GITHUB_ACTIONS": "true"})
    assert out.startswith(f"{spec}:1:10: error[SP208]")


def test_sarif_output(tmp_path: Path) -> None:
    spec = write(tmp_path, VALID.replace("version: 1", "version: 2"))
    code, out, _ = invoke(str(spec), "--format", "sarif")
    assert code == 1
    log = json.loads(out)
    assert log["version"] == "2.1.0"
    assert log["runs"][0]["results"][0]["ruleId"] == "SP208"


def test_usage_errors_exit_2() -> None:
    assert invoke()[0] == 2
    assert invoke(str(GOLDEN), "--format", "xml")[0] == 2


def test_source_clean_golden() -> None:
    code, out, _ = invoke(str(GOLDEN), "--source", str(GOLDEN.parent / "script.jsonl"))
    assert (code, out) == (0, "")


def test_source_problems_are_reported_once_at_the_source_lines(tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text(
        '{"line_id": "a_1", "text": "x"}\n{"line_id": "a_1", "text": "y"}\n{broken\n',
        encoding="utf-8",
    )
    other = write(tmp_path, VALID)
    code, out, _ = invoke(str(GOLDEN), str(other), "--source", str(source), "--format", "json")
    assert code == 1
    rows = json.loads(out)
    assert [(r["path"], r["line"], r["code"]) for r in rows] == [
        (str(source), 2, "SP404"),
        (str(source), 3, "SP402"),
    ]


def test_source_is_not_read_for_a_broken_spec(tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text("{broken\n", encoding="utf-8")
    spec = write(tmp_path, VALID.replace("version: 1", "version: 2"))
    code, out, _ = invoke(str(spec), "--source", str(source), "--format", "text")
    assert code == 1
    assert "SP208" in out
    assert "SP402" not in out


def test_missing_source_is_a_usage_error(tmp_path: Path) -> None:
    assert invoke(str(GOLDEN), "--source", str(tmp_path / "nope.jsonl"))[0] == 2


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GITHUB_ACTIONS": "false"}
    return subprocess.run(
        [sys.executable, "-m", "shardplan_compiler", "validate", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["examples/golden/golden.shardplan.yaml"], 0),
        (["examples/broken/sp203-wrong-type.shardplan.yaml"], 1),
        (["examples/broken/sp307-execution-ignored.shardplan.yaml"], 0),
        (["examples/broken/sp100-not-utf8.shardplan.yaml"], 2),
        (["examples/broken/sp108-alias-expansion.shardplan.yaml"], 1),
        (["examples/broken/sp109-too-deep.shardplan.yaml"], 1),
        (["examples/golden/golden.shardplan.yaml", "does/not/exist.yaml"], 2),
        (["examples"], 2),
    ],
)
def test_exit_codes_in_a_real_process(paths: list[str], expected: int) -> None:
    result = run_cli(*paths)
    assert result.returncode == expected, result.stderr
    assert "Traceback" not in result.stderr


def test_every_broken_example_in_one_process_without_traceback() -> None:
    examples = sorted(str(p.relative_to(ROOT)) for p in BROKEN.glob("*.shardplan.yaml"))
    result = run_cli(*examples, "--format", "json")
    assert result.returncode == 2  # the non-UTF-8 example is an I/O problem
    assert "Traceback" not in result.stderr
    assert len({row["path"] for row in json.loads(result.stdout)}) == len(examples)


FORBIDDEN_ON_THE_VALIDATE_PATH = (
    "jsonschema",
    "shardplan_executor",
    "shardplan_compiler.compile_spec",
    "shardplan_compiler.plan_io",
    "shardplan_compiler.schema_export",
    "shardplan_compiler.render.sarif",
    "shardplan_compiler.render.github",
    "dask",
    "rich",
    "tqdm",
)


def _modules_after_validate(spec: Path, expected_exit: int) -> set[str]:
    script = (
        "import sys\n"
        "from shardplan_compiler.cli import main\n"
        "try:\n"
        f"    main(['validate', {str(spec)!r}])\n"
        "except SystemExit as exit:\n"
        f"    assert exit.code == {expected_exit}, exit.code\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "GITHUB_ACTIONS": "false"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    return set(result.stdout.split())


def _heavy(loaded: set[str]) -> list[str]:
    return sorted(
        name
        for name in loaded
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN_ON_THE_VALIDATE_PATH)
    )


def test_validate_imports_stay_lean_for_a_clean_spec() -> None:
    loaded = _modules_after_validate(GOLDEN, 0)
    assert "shardplan_compiler.quick_check" in loaded  # the probe really ran validate
    # a certainly-clean spec never needs the error-explaining path, nor the models
    assert "shardplan_compiler.spec_loading" not in loaded
    assert "pydantic" not in loaded
    assert _heavy(loaded) == []


def test_validate_imports_stay_lean_for_a_broken_spec() -> None:
    loaded = _modules_after_validate(BROKEN / "sp201-unknown-key.shardplan.yaml", 1)
    assert "shardplan_compiler.spec_loading" in loaded
    assert _heavy(loaded) == []
