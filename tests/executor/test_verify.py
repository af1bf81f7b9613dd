"""The executor runs exactly the reviewed plan: a tampered plan or a stale source runs nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shardplan_executor.verify import PlanRefusedError, load_verified_plan

from .helpers import run_command, side_log
from .plan_factory import Layout, build_plan, make_lines

HANDLER = "exec_test_handlers:logging_handler"


def _run(plan: Path, log: Path, *extra: str) -> tuple[int, str]:
    result = run_command(
        [str(plan), "--handler", HANDLER, "--out", "run", *extra],
        plan.parent,
        SHARDPLAN_TEST_SIDE_LOG=str(log),
    )
    assert "Traceback" not in result.stderr
    return result.returncode, result.stderr


def test_a_tampered_plan_runs_no_handler(tmp_path: Path) -> None:
    plan = build_plan(tmp_path, make_lines(6), [Layout("context", chunk_size=2)])
    content = json.loads(plan.read_text(encoding="utf-8"))
    content["phases"][0]["execution"]["max_parallel_agents"] = 99
    plan.write_text(json.dumps(content), encoding="utf-8")
    log = tmp_path / "side.log"
    code, stderr = _run(plan, log)
    assert code == 1
    assert "the plan was changed after it was compiled" in stderr
    assert content["plan_id"] in stderr
    assert "recompile the plan" in stderr
    assert side_log(log) == []
    assert not (tmp_path / "run").exists()


def test_a_stale_source_runs_no_handler(tmp_path: Path) -> None:
    plan = build_plan(tmp_path, make_lines(6), [Layout("context", chunk_size=2)])
    source = tmp_path / "script.jsonl"
    source.write_text(source.read_text(encoding="utf-8").replace("number 3", "number three"))
    log = tmp_path / "side.log"
    code, stderr = _run(plan, log)
    assert code == 1
    assert f"{source}: the source changed since the plan was compiled" in stderr
    assert "no unit was run" in stderr
    assert "recompile the plan" in stderr
    assert side_log(log) == []


def test_source_override_must_match_too(tmp_path: Path) -> None:
    plan = build_plan(tmp_path, make_lines(3), [Layout("context")])
    moved = tmp_path / "elsewhere.jsonl"
    moved.write_bytes((tmp_path / "script.jsonl").read_bytes())
    (tmp_path / "script.jsonl").unlink()
    log = tmp_path / "side.log"
    code, stderr = _run(plan, log)
    assert code == 2
    assert "cannot read the source file named by the plan" in stderr
    code, stderr = _run(plan, log, "--source", str(moved))
    assert code == 0, stderr
    assert side_log(log) == ["context:line_1"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\xff garbage", "not a JSON plan"),
        (b"[1, 2, 3]", "not a plan (a JSON list, expected an object)"),
        (b'{"format": "shardplan/1", "plan_id": "sha256:00"', "not a JSON plan"),
        (b"[" * 100_000 + b"]" * 100_000, "not a plan"),
    ],
)
def test_a_plan_that_is_not_a_plan_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    plan = tmp_path / "bad.plan.json"
    plan.write_bytes(content)
    with pytest.raises(PlanRefusedError) as refusal:
        load_verified_plan(plan)
    assert message in refusal.value.message
    assert refusal.value.exit_code == 1


def _forge(plan: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Edit a plan as an attacker would: change it, then recompute its plan_id."""
    from shardplan_schemas.canonical import compute_plan_id

    content = json.loads(plan.read_text(encoding="utf-8"))
    edit(content)
    content["plan_id"] = compute_plan_id(content)
    plan.write_text(json.dumps(content), encoding="utf-8")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: c["phases"][0]["shards"][2].update(end=7),
            "shard context:line_5 covers [4, 7), but phase context's shards must partition "
            "the 6 lines",
        ),
        (
            lambda c: c["phases"][0]["shards"][1].update(key="context:line_4"),
            "shard context:line_4 starts at line 2, whose id is line_3, not line_4",
        ),
        (
            lambda c: c["phases"][0]["shards"][1].update(key="translate:line_3"),
            "shard translate:line_3 is listed under phase context",
        ),
        (
            lambda c: c["phases"][0]["shards"][1].update(key="context:../../pwned"),
            "/phases/0/shards/1/key: String should match pattern",
        ),
        (
            lambda c: c["phases"][0]["shards"].pop(),
            "phase context declares 3 shards but lists 2",
        ),
        (
            lambda c: c["phases"][0].update(target_languages=["en"]),
            "phase context cannot have target_languages",
        ),
        (
            lambda c: c["phases"][0]["execution"].update(chunk_size=3),
            "shard context:line_1 has 2 lines, which chunk_size 3 does not allow",
        ),
    ],
)
def test_a_forged_plan_with_a_recomputed_id_is_refused_naming_the_shard(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    """A plan_id is a checksum, not a signature: the structure is checked too (DESIGN §7)."""
    plan = build_plan(tmp_path, make_lines(6), [Layout("context", chunk_size=2)])
    _forge(plan, edit)
    with pytest.raises(PlanRefusedError) as refusal:
        load_verified_plan(plan)
    assert message in refusal.value.message
    assert refusal.value.exit_code == 1
    log = tmp_path / "side.log"
    code, stderr = _run(plan, log)
    assert code == 1
    assert message.split(":")[0] in stderr
    assert not log.exists()  # nothing ran
    assert not (tmp_path / "pwned").exists()


def test_an_unknown_handler_is_a_usage_error(tmp_path: Path) -> None:
    plan = build_plan(tmp_path, make_lines(2), [Layout("context")])
    for reference, message in [
        ("nonexistent", "no handler named 'nonexistent' (registered: "),
        ("no_such_module_xyz:run", "cannot import module 'no_such_module_xyz'"),
        ("exec_test_handlers:missing", "has no attribute 'missing'"),
        ("exec_test_handlers:SIDE_LOG", "is a str, not callable"),
    ]:
        result = run_command([str(plan), "--handler", reference], tmp_path)
        assert result.returncode == 2, reference
        assert message in result.stderr
        assert "Traceback" not in result.stderr


def test_a_format_1_plan_is_refused_with_a_word_to_recompile(tmp_path: Path) -> None:
    plan = build_plan(tmp_path, make_lines(2), [Layout("context")])
    _forge(plan, lambda c: c.update(format="shardplan/1"))
    with pytest.raises(PlanRefusedError) as refusal:
        load_verified_plan(plan)
    assert "this plan's format is 'shardplan/1'; this shardplan runs only shardplan/2" in (
        refusal.value.message
    )
    assert "recompile the plan" in refusal.value.message


def test_a_fifo_or_a_directory_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)
    with pytest.raises(PlanRefusedError) as refusal:
        load_verified_plan(fifo)
    assert refusal.value.message == f"{fifo}: the plan is not a regular file"
    assert refusal.value.exit_code == 2
    with pytest.raises(PlanRefusedError) as refusal:
        load_verified_plan(tmp_path)
    assert refusal.value.message == f"{tmp_path}: the plan is a directory, not a file"
