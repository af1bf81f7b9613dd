"""Seals: a finished phase resumes from one hash per segment, and only while every byte holds.

Each test compares the resume a seal gives with the record-by-record one
(the same run directory with `seals/` removed): the seal must change the
cost, never the verdict.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from shardplan_executor import journal as journal_module
from shardplan_executor.resume import resume_store
from shardplan_executor.seal import SEALS, decode_seal, encode_seal, read_seal, seal_path
from shardplan_executor.store import SegmentStore
from shardplan_executor.units import Finished
from shardplan_executor.verify import load_verified_plan

from . import exec_test_handlers as handlers
from .helpers import (
    damage_unit,
    journal_ids,
    run_command,
    run_in_process,
    side_log,
    tree_bytes,
    unit_range,
)
from .plan_factory import PIPELINE, Layout, build_plan, make_lines

PHASES = ("ingest", "context", "translate", "qa", "edit", "export")


class CountingStore(SegmentStore):
    """A segment store that counts the ranges read (one per record checked one by one)."""

    reads = 0

    def read(self, segment: str, offset: int, length: int) -> bytes:
        self.reads += 1
        return super().read(segment, offset, length)


@dataclass
class Resumed:
    """What `resume_store` concluded for a run directory, and what it cost."""

    flags: list[bytes]
    offsets: list[list[int]]
    lengths: list[list[int]]
    sizes: dict[str, int]
    sealed: set[int]
    reads: int


def resume_state(plan: Path, out: Path) -> Resumed:
    verified = load_verified_plan(plan)
    try:
        finished = Finished(verified.plan.phases, verified.shards, verified.start_ids)
        store = CountingStore(out, map(len, finished.flags))
        try:
            sealer = resume_store(
                out,
                out / "journal.jsonl",
                finished,
                store,
                verified.plan.plan_id,
                verified.plan.phases,
            )
        finally:
            store.close()
    finally:
        verified.source.close()
    return Resumed(
        [bytes(flags) for flags in finished.flags],
        [list(offsets) for offsets in store.offsets],
        [list(lengths) for lengths in store.lengths],
        {p.name: p.stat().st_size for p in sorted((out / "outputs").glob("*.jsonl"))},
        sealer.sealed,
        store.reads,
    )


def unsealed_copy(out: Path) -> Path:
    """The run directory without its seals: what a resume without them concludes."""
    copy = out.with_name(out.name + "-unsealed")
    shutil.copytree(out, copy)
    shutil.rmtree(copy / SEALS, ignore_errors=True)
    return copy


def assert_same_verdict(plan: Path, out: Path) -> Resumed:
    """Resume `out` with and without its seals: the same units, ranges and segment sizes."""
    bare = unsealed_copy(out)
    with_seals, without = resume_state(plan, out), resume_state(plan, bare)
    assert without.sealed == set()
    assert (with_seals.flags, with_seals.offsets, with_seals.lengths, with_seals.sizes) == (
        without.flags,
        without.offsets,
        without.lengths,
        without.sizes,
    )
    shutil.rmtree(bare)
    return with_seals


def finished_run(tmp_path: Path, lines: int = 12) -> tuple[Path, Path]:
    plan = build_plan(tmp_path, make_lines(lines), list(PIPELINE))
    out = tmp_path / "run"
    result = run_in_process(plan, "logging_handler", out)
    assert result.code == 0, result.console
    return plan, out


def test_a_finished_run_seals_every_phase_and_resumes_from_the_seals(
    tmp_path: Path, side_log_file: Path
) -> None:
    plan, out = finished_run(tmp_path)
    plan_id = json.loads(plan.read_text())["plan_id"]
    for index, phase in enumerate(PHASES):
        seal = read_seal(out, phase)
        assert seal is not None, phase
        assert (seal.header.plan_id, seal.header.phase, seal.header.phase_index) == (
            plan_id,
            phase,
            index,
        )
        for segment in seal.header.segments:
            assert (out / segment.path).stat().st_size == segment.size
        assert seal.header.journal_bytes <= (out / "journal.jsonl").stat().st_size
    # The index places each unit where its journal record says.
    translate = read_seal(out, "translate")
    assert translate is not None
    _, offset, length = unit_range(out, "translate.fr:line_4")
    order = (3 // 3) * 2 + 1  # shard 1 (lines 4-6), second language
    assert (translate.offsets[order], translate.lengths[order]) == (offset, length)
    resumed = assert_same_verdict(plan, out)
    assert resumed.sealed == set(range(len(PHASES)))
    assert resumed.reads == 0  # not one range read: every phase placed from its seal
    units = len(side_log(side_log_file))
    assert run_in_process(plan, "logging_handler", out).code == 0
    assert len(side_log(side_log_file)) == units


def test_a_changed_byte_in_a_sealed_segment_reruns_that_unit_only(
    tmp_path: Path, side_log_file: Path
) -> None:
    plan, out = finished_run(tmp_path)
    before = tree_bytes(out)
    damage_unit(out, "qa.en:line_8", b"line_8", b"LINE_8")
    resumed = assert_same_verdict(plan, out)
    assert resumed.sealed == {0, 1, 2, 4, 5}  # qa (index 3) falls back to its records
    side_log_file.unlink()
    assert run_in_process(plan, "logging_handler", out).code == 0
    assert side_log(side_log_file) == ["qa.en:line_8"]
    assert tree_bytes(out) == before
    # Sealed again: the next resume reads no range, and agrees with the journal.
    again = assert_same_verdict(plan, out)
    assert (again.sealed, again.reads) == (set(range(len(PHASES))), 0)


@pytest.mark.parametrize("damage", ["truncated", "flipped", "empty", "other plan"])
def test_a_torn_or_foreign_seal_falls_back_to_the_journal(
    tmp_path: Path, side_log_file: Path, damage: str
) -> None:
    plan, out = finished_run(tmp_path)
    path = seal_path(out, "context")
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flipped":
        at = data.index(b'"units":') + 8
        path.write_bytes(data[:at] + b"9" + data[at + 1 :])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        seal = decode_seal(data)
        assert seal is not None
        header = seal.header.model_copy(update={"plan_id": "sha256:" + "0" * 64})
        path.write_bytes(encode_seal(header, seal.offsets, seal.lengths))
        assert decode_seal(path.read_bytes()) is not None  # whole, but of another plan
    resumed = assert_same_verdict(plan, out)
    assert 1 not in resumed.sealed
    assert resumed.reads > 0
    side_log_file.unlink()
    assert run_in_process(plan, "logging_handler", out).code == 0
    assert side_log(side_log_file) == []  # nothing was lost: the journal still says it all
    assert decode_seal(path.read_bytes()) is not None  # and the phase is sealed anew
    assert resume_state(plan, out).reads == 0


def test_a_missing_segment_reruns_its_units(tmp_path: Path, side_log_file: Path) -> None:
    plan, out = finished_run(tmp_path)
    (out / "outputs" / "edit.fr.jsonl").unlink()
    resumed = assert_same_verdict(plan, out)
    assert 4 not in resumed.sealed
    side_log_file.unlink()
    assert run_in_process(plan, "logging_handler", out).code == 0
    assert sorted(side_log(side_log_file)) == sorted(f"edit.fr:line_{n}" for n in (1, 5, 9))


def test_a_changed_journal_record_voids_the_seals_after_it(
    tmp_path: Path, side_log_file: Path
) -> None:
    """A seal stands for the journal as it was: a record removed before it voids it."""
    plan, out = finished_run(tmp_path)
    journal = out / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    dropped = next(line for line in lines if b'"translate.en:line_4"' in line)
    journal.write_bytes(b"".join(line for line in lines if line != dropped))
    resumed = assert_same_verdict(plan, out)
    assert {0, 1} <= resumed.sealed  # sealed before the change
    assert not {2, 3, 4, 5} & resumed.sealed
    side_log_file.unlink()
    assert run_in_process(plan, "logging_handler", out).code == 0
    assert side_log(side_log_file) == ["translate.en:line_4"]


def test_a_phase_with_a_failed_unit_is_not_sealed_until_it_finishes(
    tmp_path: Path, side_log_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = build_plan(
        tmp_path,
        make_lines(12),
        [
            Layout("context", chunk_size=5),
            Layout("translate", chunk_size=3, languages=("en", "fr")),
        ],
    )
    out = tmp_path / "run"
    monkeypatch.setenv(handlers.FAIL_UNITS, "translate.fr:line_7")
    assert run_in_process(plan, "failing_handler", out).code == 1
    assert read_seal(out, "context") is not None
    assert read_seal(out, "translate") is None
    resumed = assert_same_verdict(plan, out)
    assert resumed.sealed == {0}
    monkeypatch.delenv(handlers.FAIL_UNITS)
    side_log_file.unlink()
    assert run_in_process(plan, "failing_handler", out).code == 0
    assert side_log(side_log_file) == ["translate.fr:line_7"]
    seal = read_seal(out, "translate")
    assert seal is not None
    assert seal.header.journal_bytes == (out / "journal.jsonl").stat().st_size
    # A resume of the resume: both phases from their seals, the rerun unit where it went.
    again = assert_same_verdict(plan, out)
    assert (again.sealed, again.reads) == ({0, 1}, 0)
    _, offset, _ = unit_range(out, "translate.fr:line_7")
    assert again.offsets[1][2 * 2 + 1] == offset  # shard 2, second language
    side_log_file.unlink()
    assert run_in_process(plan, "failing_handler", out).code == 0
    assert side_log(side_log_file) == []


def test_records_after_a_seal_are_replayed_on_top_of_it(
    tmp_path: Path, side_log_file: Path
) -> None:
    """A unit of a sealed phase journaled again after the seal (a run that did not trust the
    seal, say an older shardplan, or a read error since gone): its later record moves it, as
    without the seal, and the phase is sealed anew."""
    plan, out = finished_run(tmp_path)
    segment = out / "outputs" / "context.jsonl"
    intact = segment.read_bytes()
    kept = tmp_path / "kept.seal"
    shutil.copy(seal_path(out, "context"), kept)
    # The unit appended first: units are appended as they finish, and the segment's last
    # range, once damaged, would be cut off and rewritten in place, not after the seal.
    units = ["context:line_1", "context:line_6", "context:line_11"]  # in plan order
    order = min(range(len(units)), key=lambda at: unit_range(out, units[at])[1])
    unit = units[order]
    line = unit.partition(":")[2].encode()
    damage_unit(out, unit, line, line.upper())
    side_log_file.unlink()
    assert run_in_process(plan, "logging_handler", out).code == 0
    assert side_log(side_log_file) == [unit]
    # The byte comes back, and so does the old seal: both prefixes are as it says again.
    with segment.open("r+b") as stream:
        stream.write(intact)
    shutil.copy(kept, seal_path(out, "context"))
    _, offset, length = unit_range(out, unit)
    assert offset >= len(intact)
    resumed = assert_same_verdict(plan, out)
    assert resumed.reads == 1  # the one record after the seal, checked as usual
    assert 1 not in resumed.sealed  # to be sealed again
    assert (resumed.offsets[1][order], resumed.lengths[1][order]) == (offset, length)
    assert resumed.sizes["context.jsonl"] == offset + length


def test_the_cli_reruns_exactly_the_unit_whose_sealed_byte_changed(tmp_path: Path) -> None:
    plan = build_plan(tmp_path, make_lines(20), list(PIPELINE))
    log = tmp_path / "side.log"
    args = [plan.name, "--handler", "exec_test_handlers:logging_handler", "--out", "run"]
    first = run_command(args, tmp_path, SHARDPLAN_TEST_SIDE_LOG=str(log))
    assert first.returncode == 0, first.stderr
    out = tmp_path / "run"
    assert sorted(path.name for path in (out / SEALS).iterdir()) == sorted(
        f"{phase}.seal" for phase in PHASES
    )
    expected = tree_bytes(out)
    damage_unit(out, "translate.fr:line_10", b"line_10", b"LINE_10")
    log.unlink()
    second = run_command(args, tmp_path, SHARDPLAN_TEST_SIDE_LOG=str(log))
    assert second.returncode == 0, second.stderr
    assert side_log(log) == ["translate.fr:line_10"]
    assert journal_ids(out)[-1] == "translate.fr:line_10"
    assert tree_bytes(out) == expected
    log.unlink()
    third = run_command(args, tmp_path, SHARDPLAN_TEST_SIDE_LOG=str(log))
    assert third.returncode == 0, third.stderr
    assert side_log(log) == []


def test_a_late_seal_over_other_phases_records_in_small_blocks(
    tmp_path: Path, side_log_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A phase sealed after later phases ran (its seal lost, then written again at the end)
    covers their records too; blocks that mix phases are parsed, and agree."""
    plan, out = finished_run(tmp_path)
    seal_path(out, "context").unlink()
    assert run_in_process(plan, "logging_handler", out).code == 0
    late = read_seal(out, "context")
    assert late is not None
    assert late.header.journal_bytes == (out / "journal.jsonl").stat().st_size
    monkeypatch.setattr(journal_module, "READ_BYTES", 301)
    resumed = assert_same_verdict(plan, out)
    assert (resumed.sealed, resumed.reads) == (set(range(len(PHASES))), 0)
    damage_unit(out, "edit.en:line_5", b"line_5", b"LINE_5")
    damaged = assert_same_verdict(plan, out)
    assert damaged.sealed == set(range(len(PHASES))) - {4}
    assert damaged.flags[4].count(0) == 1
