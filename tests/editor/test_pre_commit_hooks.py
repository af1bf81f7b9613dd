"""The hooks of `.pre-commit-hooks.yaml`, run by the real pre-commit client (issue 5 item 4).

pre-commit installs a hook repository with `pip install .` from a git
commit. The test builds that repository from the working tree (so it tests
what is on disk, committed or not) at a fixed path with a fixed author and
date: the same content gives the same commit, so pre-commit's environment,
cached under `.cache/pre-commit`, is built once and reused until the package
changes. A user repository in a temporary directory then runs the hooks.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .example_specs import BROKEN, EXAMPLES, REPO

PRE_COMMIT = Path(sys.executable).with_name("pre-commit")
CACHE = REPO / ".cache" / "pre-commit"
HOOK_REPO = CACHE / "hook-repo"
PACKAGE_FILES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "LICENSE")
PACKAGE_DIRS = ("schemas", "compiler", "executor", "generated")
FIXED_IDENTITY = {
    "GIT_AUTHOR_NAME": "shardplan tests",
    "GIT_AUTHOR_EMAIL": "tests@shardplan.invalid",
    "GIT_COMMITTER_NAME": "shardplan tests",
    "GIT_COMMITTER_EMAIL": "tests@shardplan.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+00:00",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+00:00",
}


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **FIXED_IDENTITY, "GIT_CONFIG_GLOBAL": os.devnull}
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def _build_hook_repo() -> str:
    """A git repository holding the package as it is on disk; returns its commit."""
    if HOOK_REPO.exists():
        shutil.rmtree(HOOK_REPO)
    HOOK_REPO.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in PACKAGE_FILES:
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, HOOK_REPO / name)
    for name in PACKAGE_DIRS:
        shutil.copytree(REPO / name, HOOK_REPO / name, ignore=ignore)
    _git(HOOK_REPO, "init", "--quiet", "--initial-branch=main")
    _git(HOOK_REPO, "add", "--all")
    _git(HOOK_REPO, "commit", "--quiet", "--no-gpg-sign", "-m", "shardplan hooks under test")
    return _git(HOOK_REPO, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def user_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    rev = _build_hook_repo()
    repo = tmp_path_factory.mktemp("user-repo")
    _git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {HOOK_REPO.as_posix()}\n"
        f"    rev: {rev}\n"
        "    hooks:\n"
        "      - id: shardplan-validate\n"
        "      - id: shardplan-plan-check\n",
        encoding="utf-8",
    )
    specs = repo / "specs"
    specs.mkdir()
    shutil.copy2(EXAMPLES / "golden" / "golden.shardplan.yaml", specs / "golden.shardplan.yaml")
    shutil.copy2(EXAMPLES / "golden" / "script.jsonl", specs / "script.jsonl")
    _git(repo, "add", "--all")
    _git(repo, "commit", "--quiet", "--no-gpg-sign", "-m", "specs")
    return repo


def _pre_commit(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **FIXED_IDENTITY,
        "PRE_COMMIT_HOME": str(CACHE / "home"),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "PRE_COMMIT_COLOR": "never",
    }
    env.pop("GITHUB_ACTIONS", None)  # plain text diagnostics, whatever CI this runs on
    return subprocess.run(
        [str(PRE_COMMIT), *args, "--color", "never"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_hook_file_matches_spec_names_only() -> None:
    text = (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    pattern = re.search(r"^  files: (.+)$", text, re.MULTILINE)
    assert pattern
    files = re.compile(pattern[1])
    for name in ("shardplan.yaml", "a/shardplan.yaml", "a/b.shardplan.yaml", "x.y.shardplan.yaml"):
        assert files.search(name), name
    for name in ("myshardplan.yaml", "shardplan.yaml.bak", "a/b.yaml", "shardplan.json"):
        assert not files.search(name), name


def test_validate_hook_passes_a_valid_spec(user_repo: Path) -> None:
    result = _pre_commit(user_repo, "run", "shardplan-validate", "--all-files")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "shardplan validate" in result.stdout
    assert "Passed" in result.stdout


def test_validate_hook_fails_a_broken_spec_with_its_diagnostic(user_repo: Path) -> None:
    broken = user_repo / "specs" / "typo.shardplan.yaml"
    shutil.copy2(BROKEN / "sp201-unknown-key.shardplan.yaml", broken)
    ignored = user_repo / "specs" / "notes.yaml"  # not a spec name: the hook must not see it
    ignored.write_text("version: [\n", encoding="utf-8")
    try:
        _git(user_repo, "add", "--all")
        result = _pre_commit(user_repo, "run", "shardplan-validate", "--all-files")
    finally:
        broken.unlink()
        ignored.unlink()
        _git(user_repo, "add", "--all")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Failed" in result.stdout
    assert "specs/typo.shardplan.yaml:13:5: error[SP201]" in result.stdout
    assert "notes.yaml" not in result.stdout


def _compile_has_check() -> bool:
    shardplan = Path(sys.executable).with_name("shardplan")
    result = subprocess.run(
        [str(shardplan), "compile", "--help"], capture_output=True, text=True, check=False
    )
    return result.returncode == 0 and "--check" in result.stdout


@pytest.mark.skipif(not _compile_has_check(), reason="`shardplan compile --check` has not landed")
def test_plan_check_hook_passes_fresh_and_fails_stale_plans(user_repo: Path) -> None:
    shardplan = Path(sys.executable).with_name("shardplan")
    specs = user_repo / "specs"
    plan = specs / "golden.plan.json"
    subprocess.run(
        [str(shardplan), "compile", "golden.shardplan.yaml", "-o", plan.name],
        cwd=specs,
        check=True,
        capture_output=True,
    )
    spec = specs / "golden.shardplan.yaml"
    original = spec.read_text(encoding="utf-8")
    try:
        _git(user_repo, "add", "--all")
        fresh = _pre_commit(user_repo, "run", "shardplan-plan-check", "--all-files")
        assert fresh.returncode == 0, fresh.stdout + fresh.stderr
        spec.write_text(original.replace("chunk_size: 25", "chunk_size: 20"), encoding="utf-8")
        _git(user_repo, "add", "--all")
        stale = _pre_commit(user_repo, "run", "shardplan-plan-check", "--all-files")
        assert stale.returncode == 1, stale.stdout + stale.stderr
        assert "golden.plan.json" in stale.stdout
    finally:
        spec.write_text(original, encoding="utf-8")
        plan.unlink(missing_ok=True)
        _git(user_repo, "add", "--all")
