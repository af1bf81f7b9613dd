"""`shardplan import rentl` through click: standard output, -o, --force, formats, exit codes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import BinaryIO

import pytest
from click.testing import CliRunner

from shardplan_compiler.cli import main

from .helpers import EXAMPLE


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "game"
    shutil.copytree(EXAMPLE, root)
    (root / "shardplan.yaml").unlink()
    return root


def _run(cwd: Path, *args: str) -> tuple[int, str, str]:
    here = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, ["import", "rentl", *args])
    finally:
        os.chdir(here)
    return result.exit_code, result.stdout, result.stderr


def test_without_o_the_spec_goes_to_standard_output(tmp_path: Path) -> None:
    root = _project(tmp_path)
    code, out, err = _run(root, "rentl.toml")
    assert code == 0
    assert out.startswith("# yaml-language-server: $schema=https://shardplan.dev/schemas/1/")
    assert "path: input/golden.jsonl" in out
    assert "info[SP740]" in err
    assert not (root / "shardplan.yaml").exists()


def test_paths_are_relative_to_where_the_spec_is_written(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "specs").mkdir()
    code, _, _ = _run(
        root, "rentl.toml", "-o", "specs/game.shardplan.yaml", "--schema", "schema.json"
    )
    assert code == 0
    text = (root / "specs" / "game.shardplan.yaml").read_text(encoding="utf-8")
    assert "$schema=../schema.json\n" in text
    assert "path: ../input/golden.jsonl" in text
    assert "# Imported from ../rentl.toml" in text


def test_a_different_existing_file_is_replaced_only_with_force(tmp_path: Path) -> None:
    root = _project(tmp_path)
    target = root / "shardplan.yaml"
    target.write_text("# my own edits\n", encoding="utf-8")
    code, _, err = _run(root, "rentl.toml", "-o", "shardplan.yaml")
    assert code == 2
    assert "--force" in err
    assert target.read_text(encoding="utf-8") == "# my own edits\n"
    code, _, _ = _run(root, "rentl.toml", "-o", "shardplan.yaml", "--force")
    assert code == 0
    written = target.read_bytes()
    assert written.startswith(b"# yaml-language-server:")
    code, _, err = _run(root, "rentl.toml", "-o", "shardplan.yaml")
    assert code == 0
    assert "up to date" in err
    assert target.read_bytes() == written
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == []  # no temp left


def test_errors_write_nothing_and_exit_1(tmp_path: Path) -> None:
    root = _project(tmp_path)
    config = root / "rentl.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace('agents = ["basic_editor"]\n', ""),
        encoding="utf-8",
    )
    code, out, err = _run(root, "rentl.toml", "-o", "shardplan.yaml", "--format", "json")
    assert code == 1
    found = json.loads(out)
    assert [item["code"] for item in found if item["severity"] == "error"] == ["SP714"]
    assert "no spec written" in err
    assert not (root / "shardplan.yaml").exists()


def test_a_missing_config_exits_2(tmp_path: Path) -> None:
    code, _, err = _run(tmp_path, "nope.toml")
    assert code == 2
    assert "nope.toml:1:1: error[SP700]" in err


def test_an_interrupted_write_leaves_the_old_spec_whole(tmp_path: Path) -> None:
    """`-o` writes a temporary file and renames it: a failure mid-write changes nothing."""
    from shardplan_compiler.atomic_write import write_atomically

    target = tmp_path / "shardplan.yaml"
    target.write_bytes(b"old spec\n")

    def half_then_fail(handle: BinaryIO) -> None:
        handle.write(b"# yaml-language-server: half a sp")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_atomically(target, half_then_fail)
    assert target.read_bytes() == b"old spec\n"
    assert [p.name for p in tmp_path.iterdir()] == ["shardplan.yaml"]
