"""A plan's structure is checked beyond its plan_id: forged plans are refused by show and diff."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from shardplan_compiler.cli import main
from shardplan_compiler.plan_io import PlanError, parse_plan
from shardplan_schemas.canonical import compute_plan_id
from shardplan_schemas.plan import ShardPlan
from shardplan_schemas.plan_structure import key_problem, structure_problem

from .helpers import GOLDEN_PLAN, GOLDEN_SOURCE

Plan = dict[str, object]


def _golden() -> Plan:
    data: Plan = json.loads(GOLDEN_PLAN.read_bytes())
    return data


def _forged(tmp_path: Path, edit: Callable[[Plan], None]) -> Path:
    """The golden plan beside its source, edited, with its plan_id recomputed."""
    shutil.copy(GOLDEN_SOURCE, tmp_path / "script.jsonl")
    content = _golden()
    content["source"] = {**content["source"], "path": "script.jsonl"}  # type: ignore[dict-item]
    edit(content)
    content["plan_id"] = compute_plan_id(content)  # type: ignore[arg-type]
    path = tmp_path / "forged.plan.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


def _shards(content: Plan, phase: int) -> list[dict[str, object]]:
    phases = content["phases"]
    assert isinstance(phases, list)
    shards: list[dict[str, object]] = phases[phase]["shards"]
    return shards


def test_the_golden_plan_has_no_structure_problem() -> None:
    plan = ShardPlan.model_validate_json(GOLDEN_PLAN.read_bytes())
    assert structure_problem(plan) is None
    ids = [json.loads(line)["line_id"] for line in GOLDEN_SOURCE.read_text().splitlines()]
    assert key_problem(plan, ids) is None
    assert key_problem(plan, ids[1:] + ids[:1]) == (
        f"shard ingest:scene_001_0001 starts at line 0, whose id is {ids[1]}, not scene_001_0001"
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: _shards(c, 1)[0].update(end=30),
            "shard context:scene_003_0001 covers [31, 58), but phase context's shards must "
            "partition the 58 lines in order (next start 30)",
        ),
        (
            lambda c: _shards(c, 2)[1].update(end=49),
            "shard pretranslation:scene_002_0010 has 24 lines, which chunk_size 25 does not allow",
        ),
        (lambda c: _shards(c, 0).append(dict(_shards(c, 0)[0])), "declares 1 shards but lists 2"),
        (
            lambda c: c["phases"][5].update(shards=[dict(_shards(c, 4)[0])], shard_count=1),
            "phase edit is disabled but lists shard qa:scene_001_0001",
        ),
        (
            lambda c: c["phases"].reverse(),
            "phase edit is repeated or out of order",
        ),
    ],
)
def test_a_forged_plan_is_refused_with_the_first_bad_shard(
    tmp_path: Path, edit: Callable[[Plan], None], message: str
) -> None:
    path = _forged(tmp_path, edit)
    with pytest.raises(PlanError) as raised:
        parse_plan(path.read_bytes(), path)
    assert raised.value.diagnostic.code in ("SP602", "SP606")
    assert message in raised.value.diagnostic.message
    result = CliRunner().invoke(main, ["show", str(path)])
    assert result.exit_code == 1
    assert message in result.stderr


def test_a_key_that_names_another_line_is_refused_where_the_source_is_read(
    tmp_path: Path,
) -> None:
    path = _forged(tmp_path, lambda c: _shards(c, 1)[1].update(key="context:scene_003_0002"))
    runner = CliRunner()
    shard = runner.invoke(main, ["show", str(path), "--shard", "context:scene_003_0002"])
    assert shard.exit_code == 1
    assert "shard context:scene_003_0002 starts at line 31, whose id is scene_003_0001" in (
        shard.stderr
    )
    diff = runner.invoke(main, ["diff", str(path), str(path)])
    assert diff.exit_code == 1
    assert "SP606" in diff.stderr


def test_a_path_in_a_key_never_parses(tmp_path: Path) -> None:
    path = _forged(tmp_path, lambda c: _shards(c, 1)[1].update(key="context:../../pwned"))
    result = CliRunner().invoke(main, ["show", str(path)])
    assert result.exit_code == 1
    assert "SP602" in result.stderr
    assert "phases/1/shards/1/key" in result.stderr


def test_a_format_1_plan_is_refused_with_a_word_to_recompile(tmp_path: Path) -> None:
    path = _forged(tmp_path, lambda c: c.update(format="shardplan/1"))
    for command in (["show", str(path)], ["diff", str(path), str(GOLDEN_PLAN)]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 1
        assert "error[SP602] this plan is shardplan/1, which this shardplan does not read" in (
            result.stderr
        )
        assert "recompile it with `shardplan compile SPEC -o PLAN`" in result.stderr
