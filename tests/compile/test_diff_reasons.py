"""diff says why (DESIGN §8): dirty shards paired by shared lines, reasons naming the lines."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shardplan_compiler.cli import main
from shardplan_compiler.plan_diff import PlanDiff, diff_plans
from shardplan_compiler.sources import SourceTable, read_source
from shardplan_schemas.plan import ShardPlan

from .helpers import compile_spec_file, lines, write_jsonl, write_spec

Records = list[dict[str, object]]


def _compile(directory: Path, records: Records) -> tuple[ShardPlan, SourceTable, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    source = write_jsonl(directory / "s.jsonl", records)
    result = compile_spec_file(write_spec(directory, "s.jsonl"))
    assert result.plan is not None
    plan_path = directory / "p.plan.json"
    plan_path.write_bytes(result.to_bytes())
    table = read_source(source, "jsonl").table
    assert table is not None
    return result.plan, table, plan_path


def _diff(root: Path, old: Records, new: Records) -> PlanDiff:
    old_plan, old_table, _ = _compile(root / "old", old)
    new_plan, new_table, _ = _compile(root / "new", new)
    return diff_plans(old_plan, new_plan, old_table, new_table)


def _script(scenes: list[str]) -> Records:
    return lines(len(scenes), scenes)


def _named(diff: PlanDiff, phase: str, reason: str) -> set[str]:
    found = next(p for p in diff.phases if p.phase == phase)
    return {
        line
        for shard in found.shards
        for item in shard.reasons
        if item.reason == reason
        for line in item.line_ids or ()
    }


EDITS = st.sampled_from(["text", "insert", "delete"])
SCENES = st.lists(st.sampled_from(["scene_1", "scene_2", "scene_3"]), min_size=2, max_size=40)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scenes=SCENES, kind=EDITS, where=st.integers(min_value=0, max_value=39))
def test_one_edit_is_named_in_every_phase_that_holds_the_line(
    tmp_path: Path, scenes: list[str], kind: str, where: int
) -> None:
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    old = _script(scenes)
    at = where % len(old)
    new = [dict(record) for record in old]
    if kind == "text":
        new[at]["text"] = "edited"
        expected, reason = str(old[at]["line_id"]), "text_changed"
    elif kind == "insert":
        new.insert(at, {"line_id": "line_9999", "text": "new", "scene_id": scenes[at]})
        new[at]["route_id"] = "common_0"
        expected, reason = "line_9999", "lines_inserted"
    else:
        del new[at]
        expected, reason = str(old[at]["line_id"]), "lines_deleted"
    diff = _diff(root, old, new)
    assert diff.lines_known
    for phase in diff.phases:
        if phase.phase == "edit":  # disabled
            assert not phase.shards
            continue
        assert _named(diff, phase.phase, reason) == {expected}, phase
        others = {"text_changed", "lines_inserted", "lines_deleted"} - {reason}
        assert not any(_named(diff, phase.phase, other) for other in others)
        for shard in phase.shards:
            assert {r.reason for r in shard.reasons} <= {reason, "boundary_moved"}, shard
        if kind == "text":
            assert len(phase.shards) == 1
            assert phase.shards[0].status == "changed"


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(old_scenes=SCENES, new_scenes=SCENES)
def test_every_shard_is_accounted_for(
    tmp_path: Path, old_scenes: list[str], new_scenes: list[str]
) -> None:
    """New shards are unchanged, changed or added; old shards are matched, paired or removed."""
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    old_plan, old_table, _ = _compile(root / "old", _script(old_scenes))
    new_records = _script(new_scenes)
    for record in new_records[::3]:
        record["text"] = "changed"
    new_plan, new_table, _ = _compile(root / "new", new_records)
    diff = diff_plans(old_plan, new_plan, old_table, new_table)
    for phase, old_phase, new_phase in zip(
        diff.phases, old_plan.phases, new_plan.phases, strict=True
    ):
        new_keys = [shard.key for shard in new_phase.shards]
        dirty = [shard.key for shard in phase.shards if shard.status != "removed"]
        assert len(new_keys) == phase.unchanged + len(dirty)
        assert set(dirty) <= set(new_keys)
        old_same = {(s.key, s.sha256) for s in old_phase.shards} & {
            (s.key, s.sha256) for s in new_phase.shards
        }
        paired = {s.old_key or s.key for s in phase.shards if s.status == "changed"}
        removed = {s.key for s in phase.shards if s.status == "removed"}
        for shard in old_phase.shards:
            assert (shard.key, shard.sha256) in old_same or shard.key in paired | removed
        assert all(change.reasons for change in phase.shards)


def test_an_insert_under_fixed_boundaries_says_the_rest_moved_only_because_a_boundary_moved(
    tmp_path: Path,
) -> None:
    old = _script(["scene_1"] * 40)
    new = [dict(record) for record in old]
    new.insert(4, {"line_id": "line_9999", "text": "new", "scene_id": "scene_1"})
    _compile(tmp_path / "old", old)
    _compile(tmp_path / "new", new)
    result = CliRunner().invoke(
        main, ["diff", str(tmp_path / "old/p.plan.json"), str(tmp_path / "new/p.plan.json")]
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "~ pretranslation:line_4 — line line_9999 inserted; boundary moved" in text
    assert "~ pretranslation:line_6 (was pretranslation:line_7) — boundary moved" in text
    assert (
        "13 of these shard(s) are dirty only because a boundary moved (fixed boundaries shift "
        "every later shard when lines are inserted or deleted; `execution.boundaries: content` "
        "keeps them in place); 8 not listed"
    ) in text
    data = json.loads(
        CliRunner()
        .invoke(
            main,
            [
                "diff",
                str(tmp_path / "old/p.plan.json"),
                str(tmp_path / "new/p.plan.json"),
                "--format",
                "json",
            ],
        )
        .stdout
    )
    context = next(p for p in data["phases"] if p["phase"] == "context")
    assert context["shards"] == [
        {
            "key": "context:line_1",
            "status": "changed",
            "reasons": [{"reason": "lines_inserted", "line_ids": ["line_9999"]}],
        }
    ]


def test_without_matching_sources_reasons_say_content_changed(tmp_path: Path) -> None:
    """A source edited after compiling (its sha256 no longer matches) is not read for reasons."""
    old = _script(["scene_1"] * 12)
    new = [dict(record) for record in old]
    new[5]["text"] = "edited"
    _compile(tmp_path / "old", old)
    _compile(tmp_path / "new", new)
    write_jsonl(tmp_path / "new" / "s.jsonl", [*new, {"line_id": "line_77", "text": "x"}])
    result = CliRunner().invoke(
        main,
        [
            "diff",
            str(tmp_path / "old/p.plan.json"),
            str(tmp_path / "new/p.plan.json"),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["lines_known"] is False
    reasons = {r["reason"] for p in data["phases"] for s in p["shards"] for r in s["reasons"]}
    assert reasons == {"content_changed"}
    (tmp_path / "old" / "s.jsonl").unlink()
    text = CliRunner().invoke(
        main, ["diff", str(tmp_path / "old/p.plan.json"), str(tmp_path / "new/p.plan.json")]
    )
    assert "reasons cannot name lines" in text.stdout
