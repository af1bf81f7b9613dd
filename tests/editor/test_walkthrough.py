"""examples/walkthrough/: its committed plans are fresh and its README shows the real diff."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .example_specs import EXAMPLES

WALKTHROUGH = EXAMPLES / "walkthrough"
SHARDPLAN = Path(sys.executable).with_name("shardplan")
PLANS = ("before/walkthrough.plan.json", "after/walkthrough.plan.json")


def _shardplan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SHARDPLAN), *args], cwd=WALKTHROUGH, capture_output=True, text=True, timeout=120
    )


def _readme_block(marker: str) -> str:
    text = (WALKTHROUGH / "README.md").read_text(encoding="utf-8")
    return text.split(f"<!-- {marker}:start -->\n")[1].split(f"\n<!-- {marker}:end -->")[0]


def test_committed_plans_are_fresh() -> None:
    result = _shardplan("compile", "--check", *PLANS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_shows_the_text_diff() -> None:
    result = _shardplan("diff", *PLANS)
    assert result.returncode == 0, result.stderr
    assert _readme_block("diff-text") == f"```text\n{result.stdout.rstrip()}\n```", result.stdout


def test_readme_shows_the_markdown_diff() -> None:
    result = _shardplan("diff", *PLANS, "--format", "markdown")
    assert result.returncode == 0, result.stderr
    assert _readme_block("diff-markdown") == result.stdout.rstrip(), result.stdout


def test_the_diff_tells_the_story_the_readme_tells() -> None:
    text = _shardplan("diff", *PLANS).stdout
    assert "pretranslation: 3 shard(s) to rerun (3 unit(s)): 3 changed, 0 added, 1 removed" in text
    assert "translate: no shard to rerun; 3 unchanged (3 unit(s) to run in new languages)" in text
    assert "qa: 6 shard(s) to rerun (18 unit(s)): 6 changed" in text
    assert "~ qa:scene_001_0001 — settings changed: agents" in text


RERUN = WALKTHROUGH / "rerun"
RERUN_PLANS = ("before/rerun.plan.json", "after/rerun.plan.json")


def _rerun(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SHARDPLAN), *args], cwd=RERUN, capture_output=True, text=True, timeout=120
    )


def test_the_rerun_plans_are_fresh_and_the_readme_shows_their_diff() -> None:
    fresh = _rerun("compile", "--check", *RERUN_PLANS)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    result = _rerun("diff", *RERUN_PLANS)
    assert result.returncode == 0, result.stderr
    assert _readme_block("rerun-diff") == f"```text\n{result.stdout.rstrip()}\n```", result.stdout
    # One inserted line, content boundaries: one dirty shard a phase, naming the line.
    assert "6 shard(s), 9 unit(s) to rerun" in result.stdout
    assert result.stdout.count("line scene_002_0014_1 inserted") == 6


def test_the_readme_shows_the_rerun_dry_run_and_the_real_run_reuses_all_but_nine(
    tmp_path: Path,
) -> None:
    before, after = tmp_path / "before.run", tmp_path / "after.run"
    first = _rerun("run", RERUN_PLANS[0], "--handler", "pseudo", "--out", str(before), "--quiet")
    assert first.returncode == 0, first.stderr
    reuse = ("--handler", "pseudo", "--out", str(after), "--reuse", str(before))
    dry = _rerun("run", RERUN_PLANS[1], *reuse, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    shown = (dry.stdout + dry.stderr).replace(str(before), "before.run").rstrip()
    assert _readme_block("rerun-dry-run") == f"```text\n{shown}\n```", shown
    assert not after.exists()
    real = _rerun("run", RERUN_PLANS[1], *reuse)
    assert real.returncode == 0, real.stderr
    assert "run completed: 9 unit(s) run, 68 reused" in real.stderr
