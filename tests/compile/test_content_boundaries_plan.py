"""`boundaries: content` through the real compile path, and `diff` over the plans it makes.

test_boundaries.py checks the rule's properties through `shard_starts`; this
checks that the spec value reaches the plan (its `execution` and its shards),
that `fixed` phases next to it keep §4's boundaries, and that `diff` (DESIGN
§8) counts dirty shards exactly as the model there counts them, so the rates
measured on the model are rates of what a reviewer sees.
"""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shardplan_compiler.boundaries import content_cuts
from shardplan_compiler.plan_diff import PlanDiff, diff_plans
from shardplan_compiler.sharding import Runs
from shardplan_compiler.sources import SourceTable, read_source
from shardplan_schemas.plan import ShardPlan

from .helpers import compile_spec_file, write_jsonl, write_spec
from .test_boundaries import (
    Script,
    delete_line,
    dirty_count,
    insert_line,
    random_script,
    real_sharder,
    shards_of,
    text_edit,
)

PHASES = """\
  - phase: ingest
  - phase: context
    agents: [scene_summarizer]
    execution: {strategy: scene, scene_batch_size: 3, boundaries: content}
  - phase: pretranslation
    agents: [idiom_labeler]
    execution: {strategy: chunk, chunk_size: 4, boundaries: content}
  - phase: translate
    agents: [direct_translator]
    execution: {strategy: chunk, chunk_size: 4}
  - phase: export
"""
CONTENT = {"context": ("scene", 3), "pretranslation": ("chunk", 4)}


def compile_script(directory: Path, script: Script) -> tuple[ShardPlan, SourceTable]:
    directory.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, object]] = [
        {"line_id": line.line_id, "scene_id": line.scene_id, "text": line.text} for line in script
    ]
    source = write_jsonl(directory / "s.jsonl", records)
    result = compile_spec_file(write_spec(directory, "s.jsonl", PHASES))
    assert result.plan is not None, result.diagnostics
    table = read_source(source, "jsonl").table
    assert table is not None
    return result.plan, table


def starts_of(plan: ShardPlan, name: str) -> list[int]:
    phase = next(p for p in plan.phases if p.phase == name)
    return [shard.start for shard in phase.shards]


def test_the_spec_value_reaches_the_plan(tmp_path: Path) -> None:
    script, _ = random_script(random.Random(4), 60, ["line"])
    plan, _ = compile_script(tmp_path, script)
    execution = {p.phase: p.execution.boundaries for p in plan.phases}
    assert execution == {
        "ingest": "fixed",
        "context": "content",
        "pretranslation": "content",
        "translate": "fixed",
        "export": "fixed",
    }
    ids = [line.line_id for line in script]
    assert starts_of(plan, "pretranslation") == content_cuts(ids, 4)
    runs = Runs.of([line.scene_id for line in script]).starts
    assert starts_of(plan, "context") == [runs[i] for i in content_cuts([ids[r] for r in runs], 3)]
    assert starts_of(plan, "translate") == list(range(0, len(script), 4))
    assert starts_of(plan, "pretranslation") != starts_of(plan, "translate")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.integers(min_value=1, max_value=60),
    st.sampled_from(["text", "insert", "delete"]),
    st.integers(min_value=0, max_value=2**32),
)
def test_diff_counts_dirty_shards_as_the_model_does(
    tmp_path: Path, runs: int, kind: str, seed: int
) -> None:
    rng = random.Random(seed)
    script, ids = random_script(rng, runs, ["line", "l"])
    edit = {"text": text_edit, "insert": insert_line, "delete": delete_line}[kind]
    edited = edit(script, rng, ids).script
    directory = tmp_path / str(seed)
    old_plan, old_table = compile_script(directory / "old", script)
    new_plan, new_table = compile_script(directory / "new", edited)
    diff: PlanDiff = diff_plans(old_plan, new_plan, old_table, new_table)
    for phase in diff.phases:
        if phase.phase not in CONTENT:
            continue
        strategy, size = CONTENT[phase.phase]
        model = dirty_count(
            shards_of(script, real_sharder(script, strategy, size)),
            shards_of(edited, real_sharder(edited, strategy, size)),
        )
        assert len(phase.shards) == model, (phase.phase, phase.shards)
        if kind == "text":
            assert [shard.status for shard in phase.shards] == ["changed"]
