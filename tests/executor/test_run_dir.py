"""The run directory: one plan per directory, resume, a torn journal, the default location."""

from __future__ import annotations

import json
from pathlib import Path

from shardplan_executor.runner import default_run_dir
from shardplan_schemas.events import RunStarted

from .helpers import damage_unit, journal_ids, read_events, run_in_process, side_log
from .plan_factory import PIPELINE, Layout, build_plan, make_lines


def test_a_different_plan_at_the_same_out_is_refused(tmp_path: Path) -> None:
    first = build_plan(tmp_path / "a", make_lines(4), [Layout("context", chunk_size=2)])
    second = build_plan(tmp_path / "b", make_lines(4), [Layout("context", chunk_size=1)])
    out = tmp_path / "run"
    assert run_in_process(first, "echo_handler", out).code == 0
    before = (out / "journal.jsonl").read_bytes()
    refused = run_in_process(second, "echo_handler", out)
    assert refused.code == 1
    first_id = json.loads(first.read_text())["plan_id"]
    assert f"{out} holds a run of another plan ({first_id})" in refused.console
    assert "Give another --out" in refused.console
    assert (out / "journal.jsonl").read_bytes() == before


def test_a_second_run_resumes_and_runs_nothing(tmp_path: Path, side_log_file: Path) -> None:
    plan = build_plan(tmp_path, make_lines(12), list(PIPELINE))
    log = side_log_file
    out = tmp_path / "run"
    assert run_in_process(plan, "logging_handler", out).code == 0
    units = len(side_log(log))
    assert run_in_process(plan, "logging_handler", out).code == 0
    assert len(side_log(log)) == units
    started = [e for e in read_events(out) if isinstance(e, RunStarted)]
    assert [e.resumed_units for e in started] == [0, units]


def test_a_torn_journal_record_and_a_damaged_output_are_run_again(
    tmp_path: Path, side_log_file: Path
) -> None:
    plan = build_plan(tmp_path, make_lines(6), [Layout("context", chunk_size=2)])
    log = side_log_file
    out = tmp_path / "run"
    assert run_in_process(plan, "logging_handler", out).code == 0
    journal = out / "journal.jsonl"
    records = journal.read_bytes().splitlines(keepends=True)
    by_id = {json.loads(r)["id"]: r for r in records}
    # As a kill would leave it: line_5's record half-written; line_3's output changed on disk.
    kept = [by_id["context:line_1"], by_id["context:line_3"]]
    journal.write_bytes(b"".join(kept) + by_id["context:line_5"][:20])
    damage_unit(out, "context:line_3", b"LINE", b"LIME")
    log.unlink()
    assert run_in_process(plan, "logging_handler", out).code == 0
    assert sorted(side_log(log)) == ["context:line_3", "context:line_5"]
    assert journal.read_bytes().startswith(b"".join(kept))
    assert sorted(journal_ids(out)) == sorted(
        ["context:line_1", "context:line_3", "context:line_3", "context:line_5"]
    )


def test_the_default_out_is_next_to_the_plan() -> None:
    assert default_run_dir(Path("plans/golden.plan.json")) == Path("plans/golden.plan.run")
    assert default_run_dir(Path("plan")) == Path("plan.run")


def test_bytes_past_the_last_journaled_range_are_cut_off_and_never_read(
    tmp_path: Path, side_log_file: Path
) -> None:
    """As a kill between a unit's bytes and its journal record leaves a segment: a torn tail.
    The unit runs again, its new range starts where the intact data ends, nothing else reruns."""
    plan = build_plan(tmp_path, make_lines(6), [Layout("context", chunk_size=2)])
    log = side_log_file
    out = tmp_path / "run"
    assert run_in_process(plan, "logging_handler", out).code == 0
    journal = out / "journal.jsonl"
    records = [json.loads(line) for line in journal.read_bytes().splitlines()]
    last = max(records, key=lambda record: record["offset"])
    journal.write_text("".join(json.dumps(r) + "\n" for r in records if r is not last))
    segment = out / "outputs" / "context.jsonl"
    with segment.open("ab") as tail:
        tail.write(b'{"torn": tr')  # and half a record after it
    log.unlink()
    assert run_in_process(plan, "logging_handler", out).code == 0
    assert side_log(log) == [last["id"]]
    rerun = json.loads(journal.read_bytes().splitlines()[-1])
    assert rerun["id"] == last["id"]
    assert rerun["offset"] == last["offset"]
    assert b"torn" not in segment.read_bytes()
    assert segment.stat().st_size == rerun["offset"] + rerun["length"]


def test_a_run_directory_of_the_old_layout_is_refused_with_what_to_do(tmp_path: Path) -> None:
    plan = build_plan(tmp_path, make_lines(4), [Layout("context", chunk_size=2)])
    plan_id = json.loads(plan.read_text())["plan_id"]
    out = tmp_path / "run"
    out.mkdir()
    manifest = {"format": "shardplan-run/1", "plan_id": plan_id}
    (out / "run.json").write_text(json.dumps(manifest))
    refused = run_in_process(plan, "echo_handler", out)
    assert refused.code == 1
    assert "written by an earlier shardplan (run format 'shardplan-run/1'" in refused.console
    assert "Give another --out, or delete" in refused.console
    # As a --reuse directory it gives nothing, with one warning saying why.
    reused = run_in_process(plan, "echo_handler", tmp_path / "new", reuse=(out,))
    assert reused.code == 0, reused.console
    assert "written by an earlier shardplan" in reused.console
