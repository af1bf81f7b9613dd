"""An old run directory is untrusted: what it cannot make `run --reuse` do (DESIGN §7).

The CLI cases (symlinks, FIFOs, huge and torn journal lines, a live run's
lock...) are in the hostile corpus; these check, in process, that the unit
concerned really ran again and that the warnings stay few.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shardplan_executor import reuse_source
from shardplan_executor.reuse_index import PlanUnits
from shardplan_executor.reuse_source import OldRun
from shardplan_schemas.events import UnitCompleted, UnitReused

from .helpers import read_events, run_in_process
from .plan_factory import Layout, build_plan, make_lines

LAYOUTS = [Layout("context", chunk_size=1)]


def _kinds(run_dir: Path) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for event in read_events(run_dir):
        if isinstance(event, UnitCompleted | UnitReused):
            kinds[event.unit_id] = event.event
    return kinds


def _old_run(tmp_path: Path, count: int) -> Path:
    plan = build_plan(tmp_path, make_lines(count), LAYOUTS)
    assert run_in_process(plan, "cutoff_handler", tmp_path / "old", fsync=False).code == 0
    return plan


def test_a_symlink_is_never_followed_even_to_the_right_bytes(tmp_path: Path) -> None:
    plan = _old_run(tmp_path, 3)
    segment = tmp_path / "old" / "outputs" / "context.jsonl"
    outside = tmp_path / "outside.jsonl"
    outside.write_bytes(segment.read_bytes())  # every checksum would match
    segment.unlink()
    segment.symlink_to(outside)
    result = run_in_process(
        plan, "cutoff_handler", tmp_path / "new", fsync=False, reuse=(tmp_path / "old",)
    )
    assert result.code == 0, result.console
    assert "outputs/context.jsonl is a symlink (never followed)" in result.console
    assert set(_kinds(tmp_path / "new").values()) == {"unit_completed"}
    assert not (tmp_path / "new" / "outputs" / "context.jsonl").is_symlink()


def test_a_journal_pointing_outside_reruns_and_reads_nothing_there(tmp_path: Path) -> None:
    plan = _old_run(tmp_path, 2)
    journal = tmp_path / "old" / "journal.jsonl"
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    (tmp_path / "secret.jsonl").write_bytes((tmp_path / "old" / records[0]["output"]).read_bytes())
    records[0]["output"] = "../../secret.jsonl"
    records[1]["output"] = str(tmp_path / "secret.jsonl")
    journal.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = run_in_process(
        plan, "cutoff_handler", tmp_path / "new", fsync=False, reuse=(tmp_path / "old",)
    )
    assert result.code == 0
    assert set(_kinds(tmp_path / "new").values()) == {"unit_completed"}
    assert "names the output '../../secret.jsonl'" in result.console


def test_warnings_past_a_few_are_counted_in_one_line(tmp_path: Path) -> None:
    plan = _old_run(tmp_path, 12)
    segment = tmp_path / "old" / "outputs" / "context.jsonl"
    segment.write_bytes(b"#" * len(segment.read_bytes()))  # every unit's range damaged
    result = run_in_process(
        plan, "cutoff_handler", tmp_path / "new", fsync=False, reuse=(tmp_path / "old",)
    )
    assert result.code == 0
    warnings = [line for line in result.console.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 6
    assert warnings[-1].endswith(
        "7 more problem(s) not shown (12 in all); the units concerned run again"
    )
    assert set(_kinds(tmp_path / "new").values()) == {"unit_completed"}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=40), max_size=12),
    st.booleans(),
    st.integers(min_value=1, max_value=17),
)
def test_journal_lines_are_cut_and_bounded_as_one_line_at_a_time_would(
    lengths: list[int], torn: bool, block: int
) -> None:
    """The journal is read a block at a time: the same lines come out whatever the block
    size, lines longer than the limit are skipped and counted, a torn last one dropped."""
    limit = 16
    lines = [bytes([97 + n % 26]) * n for n in lengths]
    data = b"".join(line + b"\n" for line in lines) + (b"torn" if torn else b"")
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        warnings: list[str] = []
        old = OldRun(directory, warnings.append, PlanUnits([], [], {}))
        (directory / "journal").write_bytes(data)
        fd = os.open(directory / "journal", os.O_RDONLY)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(reuse_source, "READ_BLOCK", block)
            patch.setattr(reuse_source, "MAX_LINE_BYTES", limit)
            try:
                read = [line for chunk in old._journal_lines(fd) for line in chunk]
            finally:
                os.close(fd)
        old.close()
    assert read == [line for line in lines if len(line) <= limit]
    long_lines = sum(len(line) > limit for line in lines)
    assert bool(long_lines) == any(f"{long_lines} line(s)" in text for text in warnings)
