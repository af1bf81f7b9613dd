"""Gathering inputs costs what a unit receives, never the size of the script (issue 14).

The index is driven directly over real segments: upstream outputs are
appended and indexed as the runner does, then every downstream unit's inputs
are gathered and read. The probes count work (upstream shards visited,
pieces made, records read), not time, so a loaded machine cannot make the
test flaky; a quadratic gathering (a scan of every upstream record per unit)
makes the work per unit grow with the script, and fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shardplan_executor.record_index import InputIndex
from shardplan_executor.records import encode_records
from shardplan_executor.source_index import LazyLines
from shardplan_executor.store import SegmentStore
from shardplan_executor.units import iter_phase_units
from shardplan_executor.verify import load_verified_plan
from shardplan_schemas.task import Record

from .plan_factory import Layout, build_plan, make_lines

LAYOUTS = [
    Layout("ingest"),
    Layout("context", chunk_size=5),
    Layout("translate", chunk_size=3, languages=("en", "fr")),
]


def _records(line_ids: list[str], per_line: int) -> list[Record]:
    return [{"line_id": line_id, "copy": n} for line_id in line_ids for n in range(per_line)]


def _gather(directory: Path, line_count: int, per_line: int) -> tuple[float, float, int]:
    """(work per unit, records read per unit, records received in all) for one script size."""
    plan = build_plan(directory, make_lines(line_count), LAYOUTS)
    verified = load_verified_plan(plan)
    run_dir = directory / "run"
    phases = verified.plan.phases
    store = SegmentStore(run_dir, [0] * len(phases))
    index = InputIndex(store, verified.source, verified.start_ids)
    for phase_index in (0, 1):  # ingest (one full shard), then context, all finished
        shards = verified.shards[phase_index]
        index.open_phase(phase_index, phases[phase_index], shards)
        for unit in iter_phase_units(phase_index, phases[phase_index], shards, verified.start_ids):
            ids = LazyLines(verified.source, unit.start, unit.end).line_ids()
            data = encode_records(_records(ids, per_line))
            index.add_output(unit, data, store.append(unit.segment, data))
    work_before = index.work
    units = list(iter_phase_units(2, phases[2], verified.shards[2], verified.start_ids))
    received = 0
    for unit in units:
        inputs = index.inputs_for(unit)
        lines = LazyLines(verified.source, unit.start, unit.end).line_ids()
        for records in inputs.values():
            got = list(records)
            assert [r["line_id"] for r in got] == [i for i in lines for _ in range(per_line)]
            received += len(got)
    verified.source.close()
    store.close()
    work = (index.work - work_before) / len(units)
    return work, index.files.records_read / len(units), received


@pytest.mark.parametrize("per_line", [1, 2], ids=["dense outputs", "outputs filed by line"])
def test_inputs_cost_what_a_unit_receives_not_the_script(tmp_path: Path, per_line: int) -> None:
    small_work, small_read, _ = _gather(tmp_path / "small", 300, per_line)
    large_work, large_read, received = _gather(tmp_path / "large", 3000, per_line)
    # Each translate unit (3 lines) receives 3 * per_line records of ingest and of context,
    # however long the script: 10x the lines must not mean more work per unit.
    assert received == 3000 * 2 * 2 * per_line
    assert large_read == small_read == 2 * 3 * per_line
    assert large_work <= small_work * 1.05 + 1
