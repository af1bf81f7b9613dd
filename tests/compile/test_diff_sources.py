"""diff reads its two sources lightly (diff_sources); the reasons must not depend on it.

The light reading takes ids with one regular expression per block and
compares lines by a 64-bit hash; the compiler's reader parses every record
and keeps a SHA-256 per line. Over random scripts and random edits, both
must give the same diff, and the line-up of the two scripts (runs, inserted,
deleted, edited lines) must match a plain per-line computation.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shardplan_compiler.diff_reasons import ScriptChange
from shardplan_compiler.diff_sources import ScriptLines, read_script
from shardplan_compiler.plan_diff import diff_plans
from shardplan_compiler.render.plan_diff import render_diff_json
from shardplan_compiler.sources import SourceTable, read_source
from shardplan_schemas.plan import ShardPlan

from .helpers import compile_spec_file, write_spec

Records = list[dict[str, object]]

SPEC_PHASES = """\
  - phase: ingest
  - phase: context
    agents: [scene_summarizer]
  - phase: translate
    agents: [direct_translator]
    execution: {strategy: chunk, chunk_size: 4, boundaries: content}
  - phase: qa
    agents: [style_guide_critic]
    execution: {strategy: chunk, chunk_size: 3}
"""


def _records(count: int, scenes: int) -> Records:
    return [
        {
            "line_id": f"line_{i}",
            "scene_id": f"scene_{i * scenes // count}",
            "text": f"text {i}",
        }
        for i in range(count)
    ]


def _write(path: Path, records: Records, compact: bool) -> None:
    separators = (",", ":") if compact else (", ", ": ")
    text = "".join(json.dumps(r, separators=separators) + "\n" for r in records)
    path.write_text(text, encoding="utf-8")


def _compile(directory: Path, records: Records, compact: bool = True) -> tuple[ShardPlan, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "s.jsonl"
    _write(source, records, compact)
    result = compile_spec_file(write_spec(directory, "s.jsonl", SPEC_PHASES))
    assert result.plan is not None, result.diagnostics
    return result.plan, source


def _table(path: Path) -> SourceTable:
    table = read_source(path, "jsonl").table
    assert table is not None
    return table


def _light(path: Path, plan: ShardPlan) -> ScriptLines:
    script = read_script(path, "jsonl", plan.source.sha256)
    assert isinstance(script, ScriptLines), "the light reading did not apply"
    return script


EDIT = st.tuples(
    st.sampled_from(["text", "insert", "delete", "move"]),
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=1, max_value=6),
)


def _edited(records: Records, edits: list[tuple[str, int, int]]) -> Records:
    new = [dict(record) for record in records]
    for serial, (kind, where, length) in enumerate(edits):
        at = where % len(new)
        if kind == "text":
            new[at]["text"] = f"edited {serial}"
        elif kind == "insert":
            new.insert(at, {"line_id": f"new_{serial}", "scene_id": "scene_0", "text": "new"})
        elif kind == "delete" and len(new) > length:
            del new[at : at + length]
        elif kind == "move":
            block = new[at : at + length]
            del new[at : at + length]
            to = (where // 7) % (len(new) + 1)
            new[to:to] = block
    return new


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    count=st.integers(min_value=1, max_value=120),
    scenes=st.integers(min_value=1, max_value=9),
    edits=st.lists(EDIT, min_size=0, max_size=5),
)
def test_light_reading_gives_the_same_diff_and_line_up(
    tmp_path: Path, count: int, scenes: int, edits: list[tuple[str, int, int]]
) -> None:
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    old_records = _records(count, scenes)
    new_records = _edited(old_records, edits)
    old_plan, old_source = _compile(root / "old", old_records)
    new_plan, new_source = _compile(root / "new", new_records)

    light = (_light(old_source, old_plan), _light(new_source, new_plan))
    full = (_table(old_source), _table(new_source))
    assert light[0].line_ids == full[0].line_ids
    assert light[1].line_ids == full[1].line_ids
    assert render_diff_json(diff_plans(old_plan, new_plan, *light)) == render_diff_json(
        diff_plans(old_plan, new_plan, *full)
    )

    # The line-up against a plain per-line computation.
    change = ScriptChange(*light)
    old_ids = [str(r["line_id"]) for r in old_records]
    new_ids = [str(r["line_id"]) for r in new_records]
    old_by_id = {str(r["line_id"]): r for r in old_records}
    end = len(new_ids)
    assert change.inserted(0, end) == tuple(i for i in new_ids if i not in old_by_id)
    assert change.deleted(0, len(old_ids)) == tuple(i for i in old_ids if i not in new_ids)
    assert change.edited(0, end) == tuple(
        str(r["line_id"])
        for r in new_records
        if r["line_id"] in old_by_id and r != old_by_id[str(r["line_id"])]
    )
    old_index = {line_id: i for i, line_id in enumerate(old_ids)}
    mapped = [old_index[i] for i in new_ids if i in old_index]
    assert [p for low, high in change.old_ranges(0, end) for p in range(low, high)] == mapped
    for start in range(0, len(old_ids), 5):
        kept = [new_ids.index(i) for i in old_ids[start : start + 5] if i in new_ids]
        span = (min(kept), max(kept)) if kept else None
        assert change.new_span(start, start + 5) == span


def _light_or_table(tmp_path: Path, text: str) -> ScriptLines | SourceTable | None:
    path = tmp_path / "s.jsonl"
    path.write_text(text, encoding="utf-8")
    return read_script(path, "jsonl", _table(path).sha256)


def test_a_source_the_light_reading_cannot_trust_is_read_by_the_compilers_reader(
    tmp_path: Path,
) -> None:
    plain = '{"line_id": "line_1", "text": "a"}\n{"line_id": "line_2", "text": "b"}\n'
    assert isinstance(_light_or_table(tmp_path, plain), ScriptLines)
    for text in (
        # a blank line (JSONL skips it)
        '{"line_id": "line_1", "text": "a"}\n\n{"line_id": "line_2", "text": "b"}\n',
        # the key again, in metadata
        '{"line_id": "line_1", "text": "a", "metadata": {"line_id": "x_1"}}\n'
        '{"line_id": "line_2", "text": "b"}\n',
        # an escaped id
        '{"line_id": "line\\u005f1", "text": "a"}\n',
    ):
        found = _light_or_table(tmp_path, text)
        assert isinstance(found, SourceTable), text
        assert found.line_ids[0] == "line_1"


def test_a_source_whose_sha256_is_not_the_plans_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"line_id": "line_1", "text": "a"}\n', encoding="utf-8")
    assert read_script(path, "jsonl", "0" * 64) is None
    path.write_text('{"line_id": "line_1", "text": "a"}\n\n', encoding="utf-8")
    assert read_script(path, "jsonl", "0" * 64) is None
    assert read_script(tmp_path / "missing.jsonl", "jsonl", "0" * 64) is None


def test_a_phase_enabled_in_the_new_plan_only_has_its_shards_added(tmp_path: Path) -> None:
    records = _records(12, 2)
    old_plan, old_source = _compile(tmp_path / "old", records)
    new_dir = tmp_path / "new"
    new_dir.mkdir()
    new_source = new_dir / "s.jsonl"
    _write(new_source, [*records, {"line_id": "new_1", "scene_id": "scene_1", "text": "x"}], True)
    edit = "  - phase: edit\n    agents: [basic_editor]\n    execution: {strategy: chunk, chunk_size: 5}\n"
    result = compile_spec_file(write_spec(new_dir, "s.jsonl", SPEC_PHASES + edit))
    assert result.plan is not None
    new_plan = result.plan
    diff = diff_plans(
        old_plan, new_plan, _light(old_source, old_plan), _light(new_source, new_plan)
    )
    phase = next(p for p in diff.phases if p.phase == "edit")
    assert [s.status for s in phase.shards] == ["added"] * 3
    assert [r.reason for r in phase.shards[-1].reasons][:1] == ["lines_inserted"]
