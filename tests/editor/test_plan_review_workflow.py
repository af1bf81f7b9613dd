"""docs/ci/plan-review.yml: a valid GitHub workflow whose scripts really produce the plan diff.

GitHub is not reachable here, so the test checks the file against
check-jsonschema's bundled GitHub-workflow schema, then runs the workflow's
own `run:` scripts with bash in a git repository whose pull request changes
a chunk size — the job summary must show that phase's shards as changed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .example_specs import EXAMPLES, REPO

WORKFLOW = REPO / "docs" / "ci" / "plan-review.yml"
VENV_BIN = Path(sys.executable).parent


def test_workflow_is_a_valid_github_workflow() -> None:
    result = subprocess.run(
        [
            str(VENV_BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(WORKFLOW),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _steps() -> list[dict[str, object]]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    steps = workflow["jobs"]["plan-diff"]["steps"]
    assert isinstance(steps, list)
    return steps


def test_workflow_writes_the_markdown_diff_to_the_job_summary() -> None:
    scripts = " ".join(str(step.get("run", "")) for step in _steps())
    assert "shardplan diff" in scripts
    assert "--format markdown" in scripts
    assert '>> "$GITHUB_STEP_SUMMARY"' in scripts


def _has(command: str) -> bool:
    result = subprocess.run(
        [str(VENV_BIN / "shardplan"), command, "--help"], capture_output=True, check=False
    )
    return result.returncode == 0


@pytest.mark.skipif(
    not (_has("compile") and _has("diff") and _has("show")),
    reason="`shardplan compile`/`diff`/`show` have not landed",
)
def test_workflow_scripts_show_a_changed_chunk_size(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    spec_dir = repo / "specs"
    spec_dir.mkdir(parents=True)
    spec = spec_dir / "golden.shardplan.yaml"
    shutil.copy2(EXAMPLES / "golden" / "golden.shardplan.yaml", spec)
    shutil.copy2(EXAMPLES / "golden" / "script.jsonl", spec_dir / "script.jsonl")
    git_env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=repo, env=git_env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    git("init", "--quiet", "--initial-branch=main")
    git("add", "--all")
    git("commit", "--quiet", "-m", "base")
    base_sha = git("rev-parse", "HEAD")
    spec.write_text(
        spec.read_text(encoding="utf-8").replace("chunk_size: 25", "chunk_size: 20"),
        encoding="utf-8",
    )
    git("commit", "--quiet", "-am", "head: smaller pretranslation chunks")

    runner_temp = tmp_path / "runner"
    runner_temp.mkdir()
    summary = tmp_path / "summary.md"
    env = {
        **git_env,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "SPEC": "specs/golden.shardplan.yaml",
        "BASE_SHA": base_sha,
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_ACTIONS": "true",
    }
    for step in _steps():
        script = step.get("run")
        if not isinstance(script, str) or "pip install" in script:
            continue  # the package is installed in this virtualenv already
        done = subprocess.run(
            ["bash", "-e", "-c", script], cwd=repo, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{step.get('name')}: {done.stdout}{done.stderr}"
    text = summary.read_text(encoding="utf-8")
    assert "specs/golden.shardplan.yaml" in text
    assert "pretranslation" in text
    assert "Nothing to compare with" not in text
    assert "`execution.chunk_size`: `25` → `20`" in text
    assert "source.path" not in text  # both plans name their inputs alike
    assert "spec.path" not in text
    assert "```mermaid\ngantt" in text  # where the dirty shards are, drawn by GitHub
    assert "section pretranslation" in text
    page = runner_temp / "plan-review.html"
    assert page.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_workflow_uploads_the_review_page() -> None:
    uploads = [
        step
        for step in _steps()
        if str(step.get("uses", "")).startswith("actions/upload-artifact@")
    ]
    assert len(uploads) == 1
    settings = uploads[0].get("with")
    assert isinstance(settings, dict)
    assert settings["path"] == "${{ runner.temp }}/plan-review.html"
    scripts = " ".join(str(step.get("run", "")) for step in _steps())
    assert '--format html -o "$RUNNER_TEMP/plan-review.html"' in scripts
