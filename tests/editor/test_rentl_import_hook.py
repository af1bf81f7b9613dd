"""The `shardplan-rentl-import` hook, run by the real pre-commit client.

A rentl project commits its rentl.toml and the imported spec; when the
rentl.toml changes, the hook re-imports and pre-commit fails with the new
spec in place, so the spec the validate and plan-check hooks see is never
behind the rentl.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .example_specs import EXAMPLES
from .test_pre_commit_hooks import HOOK_REPO, _build_hook_repo, _git, _pre_commit

EXAMPLE = EXAMPLES / "rentl"


@pytest.fixture(scope="module")
def rentl_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    rev = _build_hook_repo()
    repo = tmp_path_factory.mktemp("rentl-repo")
    _git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {HOOK_REPO.as_posix()}\n"
        f"    rev: {rev}\n"
        "    hooks:\n"
        "      - id: shardplan-rentl-import\n"
        "        args: [-o, shardplan.yaml]\n"
        "      - id: shardplan-validate\n",
        encoding="utf-8",
    )
    shutil.copy2(EXAMPLE / "rentl.toml", repo / "rentl.toml")
    shutil.copytree(EXAMPLE / "input", repo / "input")
    return repo


def test_the_hook_reimports_when_rentl_toml_changes(rentl_repo: Path) -> None:
    _git(rentl_repo, "add", "--all")
    first = _pre_commit(rentl_repo, "run", "--all-files")
    spec = rentl_repo / "shardplan.yaml"
    # The spec is new, so untracked: pre-commit sees no modification yet.
    assert first.returncode == 0, first.stdout + first.stderr
    assert "chunk_size: 10" in spec.read_text(encoding="utf-8")
    _git(rentl_repo, "add", "--all")
    again = _pre_commit(rentl_repo, "run", "--all-files")
    assert again.returncode == 0, again.stdout + again.stderr  # in step: nothing to do
    config = rentl_repo / "rentl.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            'agents = ["direct_translator"]\n',
            'agents = ["direct_translator"]\nexecution = { strategy = "chunk", chunk_size = 25 }\n',
        ),
        encoding="utf-8",
    )
    _git(rentl_repo, "add", "--all")
    changed = _pre_commit(rentl_repo, "run", "--all-files")
    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert "chunk_size: 25" in spec.read_text(encoding="utf-8")
