"""`shardplan compile`, `show` and `diff` through click and as a real process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from shardplan_compiler.cli import main

from .helpers import GOLDEN_PLAN, GOLDEN_SPEC, REPO

EXAMPLES = REPO / "examples" / "sharding"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_compile_writes_plan_and_summary(tmp_path: Path) -> None:
    target = tmp_path / "golden.plan.json"
    code, out, err = run("compile", str(GOLDEN_SPEC), "-o", str(target))
    assert code == 0, err
    assert out == ""
    plan = json.loads(target.read_text(encoding="utf-8"))
    assert plan["format"] == "shardplan/2"
    for phase in ("ingest", "context", "pretranslation", "translate", "qa", "edit", "export"):
        assert phase in err
    translate = next(line.split() for line in err.splitlines() if line.split()[:1] == ["translate"])
    assert translate == ["translate", "route", "3", "6", "2"]  # strategy, shards, units, cap
    assert not list(tmp_path.glob(".*.tmp"))


def test_compile_to_stdout() -> None:
    code, out, _ = run("compile", str(GOLDEN_SPEC))
    assert code == 0
    assert json.loads(out)["format"] == "shardplan/2"


def test_compile_usage_and_missing_files() -> None:
    assert run("compile", "no/such.shardplan.yaml")[0] == 2
    assert run("compile")[0] == 2
    assert run("compile", str(GOLDEN_SPEC), "--source", "no/such.jsonl")[0] == 2


def test_route_without_route_id_fails_naming_lines(tmp_path: Path) -> None:
    code, out, _err = run(
        "compile",
        str(EXAMPLES / "route-missing-route-id.shardplan.yaml"),
        "-o",
        str(tmp_path / "p.json"),
    )
    assert code == 1
    assert "error[SP501]" in out
    for line in (3, 6, 7):
        assert f"route-missing-route-id.jsonl:{line}" in out
    assert not (tmp_path / "p.json").exists()


def test_split_scene_warning_names_both_runs(tmp_path: Path) -> None:
    code, out, _ = run(
        "compile", str(EXAMPLES / "split-scene.shardplan.yaml"), "-o", str(tmp_path / "p.json")
    )
    assert code == 0
    assert "warning[SP502]" in out
    assert "split-scene.jsonl:1-3" in out
    assert "split-scene.jsonl:6-7" in out


def test_skew_warning(tmp_path: Path) -> None:
    code, out, _ = run(
        "compile", str(EXAMPLES / "skewed-scenes.shardplan.yaml"), "-o", str(tmp_path / "p.json")
    )
    assert code == 0
    assert "warning[SP506]" in out
    assert "8.0x the median" in out


def test_content_boundaries_example_compiles_without_a_skew_warning(tmp_path: Path) -> None:
    # Its pretranslation shards run from 1 to 36 lines (7.2x the median): by design under
    # content boundaries, so no SP506; `show` names the boundaries.
    plan = tmp_path / "p.json"
    code, out, err = run(
        "compile", str(EXAMPLES / "content-boundaries.shardplan.yaml"), "-o", str(plan)
    )
    assert code == 0, err
    assert "warning" not in out + err
    code, out, _ = run("show", str(plan))
    assert code == 0
    assert "chunk (chunk_size=10, boundaries=content)" in out
    assert "chunk (chunk_size=10) " in out


def test_show_summary_and_shard(tmp_path: Path) -> None:
    code, out, _ = run("show", str(GOLDEN_PLAN))
    assert code == 0
    assert "examples/golden/script.jsonl" in out
    assert "golden.shardplan.yaml" in out
    assert "11/16/31" in out  # translate: lines per shard min/median/max
    code, out, _ = run("show", str(GOLDEN_PLAN), "--format", "json")
    phases = json.loads(out)["phases"]
    assert phases[3]["units"] == 6
    assert phases[3]["max_parallel_agents"] == 2
    code, out, _ = run("show", str(GOLDEN_PLAN), "--format", "markdown")
    assert code == 0
    assert out.startswith("### Shard plan")
    code, out, _ = run("show", str(GOLDEN_PLAN), "--shard", "translate:scene_003_0001")
    assert code == 0
    assert out.count("scene_003_") == 11 + 1  # 11 lines and the header
    assert run("show", str(GOLDEN_PLAN), "--shard", "translate:nope_1")[0] == 2


def test_show_refuses_a_tampered_plan(tmp_path: Path) -> None:
    tampered = tmp_path / "t.plan.json"
    tampered.write_bytes(GOLDEN_PLAN.read_bytes().replace(b'"end":31,', b'"end":30,', 1))
    code, _, err = run("show", str(tampered))
    assert code == 1
    assert "SP603" in err
    assert run("show", str(tmp_path / "missing.plan.json"))[0] == 2


def test_diff_identical_and_changed(tmp_path: Path) -> None:
    assert run("diff", str(GOLDEN_PLAN), str(GOLDEN_PLAN), "--exit-code")[0] == 0
    code, out, _ = run("diff", str(GOLDEN_PLAN), str(GOLDEN_PLAN), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["differs"] is False
    assert all(not p["changed"] and not p["added"] and not p["removed"] for p in data["phases"])
    project = tmp_path / "p"
    shutil.copytree(GOLDEN_SPEC.parent, project)
    spec = project / GOLDEN_SPEC.name
    old = project / "old.plan.json"
    new = project / "new.plan.json"
    assert run("compile", str(spec), "-o", str(old))[0] == 0
    spec.write_text(
        spec.read_text(encoding="utf-8").replace("chunk_size: 25", "chunk_size: 20"),
        encoding="utf-8",
    )
    script = project / "script.jsonl"
    script.write_text(
        script.read_text(encoding="utf-8").replace("春の朝", "夏の朝", 1), encoding="utf-8"
    )
    assert run("compile", str(spec), "-o", str(new))[0] == 0
    code, out, _ = run("diff", str(old), str(new), "--format", "json")
    assert code == 0
    data = json.loads(out)
    phases = {p["phase"]: p for p in data["phases"]}
    assert "context:scene_001_0001" in phases["context"]["changed"]
    assert phases["pretranslation"]["config_changes"][0]["field"] == "execution.chunk_size"
    assert "pretranslation:scene_002_0005" in phases["pretranslation"]["added"]
    fields = {change["field"] for change in data["changes"]}
    assert {"spec.sha256", "source.sha256"} <= fields
    assert run("diff", str(old), str(new), "--exit-code")[0] == 1
    code, out, _ = run("diff", str(old), str(new), "--format", "markdown")
    assert "| pretranslation |" in out
    assert "`execution.chunk_size`: `25` → `20`" in out
    # --check: the old plan is stale now, the new one is not.
    code, out, _ = run("compile", "--check", str(old))
    assert code == 1
    assert "SP605" in out
    assert run("compile", "--check", str(new))[0] == 0


def test_a_real_process_exit_codes(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "shardplan_compiler"]
    ok = subprocess.run(
        [*command, "compile", str(GOLDEN_SPEC), "-o", str(tmp_path / "g.plan.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "g.plan.json").read_bytes().count(b"\n") > 10
    bad = subprocess.run(
        [*command, "compile", str(EXAMPLES / "route-missing-route-id.shardplan.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    assert "SP501" in bad.stderr
    missing = subprocess.run(
        [*command, "show", str(tmp_path / "nope.plan.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2


def test_compile_exit_codes_follow_validate() -> None:
    """An unreadable spec (SP100) is I/O trouble (2); a broken one is an input error (1)."""
    broken = REPO / "examples" / "broken"
    assert run("compile", str(broken / "sp100-not-utf8.shardplan.yaml"))[0] == 2
    assert run("compile", str(broken / "sp101-yaml-syntax.shardplan.yaml"))[0] == 1
