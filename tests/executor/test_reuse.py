"""`run --reuse` and `--dry-run`: which units take an earlier run's output, and why the others run."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import JsonValue

from shardplan_executor import fingerprint
from shardplan_executor.fingerprint import handler_identity, inputs_digest
from shardplan_schemas.events import PhaseCompleted, RunCompleted, UnitCompleted, UnitReused
from shardplan_schemas.source import SourceLine

from . import exec_test_handlers as handlers
from .helpers import InProcessRun, damage_unit, read_events, run_in_process, side_log, tree_bytes
from .plan_factory import Layout, build_plan, make_lines

LAYOUTS = [
    Layout("context", chunk_size=5),
    Layout("translate", chunk_size=3, languages=("en", "fr")),
    Layout("qa", chunk_size=7, languages=("en", "fr")),
    Layout("export", languages=("en", "fr")),
]


def _edited(lines: list[SourceLine], index: int, text: str) -> list[SourceLine]:
    edited = list(lines)
    edited[index] = lines[index].model_copy(update={"text": text})
    return edited


def _run(
    plan: Path, out: Path, *reuse: Path, handler: str = "cutoff_handler", dry_run: bool = False
) -> InProcessRun:
    return run_in_process(plan, handler, out, fsync=False, reuse=tuple(reuse), dry_run=dry_run)


def _kinds(run_dir: Path) -> dict[str, str]:
    """unit id -> `ran` or `reused`, from the run's events."""
    kinds: dict[str, str] = {}
    for event in read_events(run_dir):
        if isinstance(event, UnitCompleted):
            kinds[event.unit_id] = "ran"
        elif isinstance(event, UnitReused):
            kinds[event.unit_id] = "reused"
    return kinds


def test_the_same_plan_reuses_every_unit_and_calls_no_handler(
    tmp_path: Path, side_log_file: Path
) -> None:
    plan = build_plan(tmp_path / "a", make_lines(12), LAYOUTS)
    assert _run(plan, tmp_path / "old").code == 0
    side_log_file.unlink()
    result = _run(plan, tmp_path / "new", tmp_path / "old")
    assert result.code == 0, result.console
    assert side_log(side_log_file) == []
    events = read_events(tmp_path / "new")
    reused = [e for e in events if isinstance(e, UnitReused)]
    assert len(reused) == 3 + 4 * 2 + 2 * 2 + 2  # context, translate, qa, export units
    assert {e.source for e in reused} == {str(tmp_path / "old")}
    (done,) = [e for e in events if isinstance(e, RunCompleted)]
    assert (done.completed, done.reused) == (0, len(reused))
    assert tree_bytes(tmp_path / "new") == tree_bytes(tmp_path / "old")
    assert "0 unit(s) run, 17 reused" in result.console
    # the new run's journal carries fingerprints too, so it can be reused from in turn
    for line in (tmp_path / "new" / "journal.jsonl").read_text().splitlines():
        assert json.loads(line)["fingerprint"]["handler"].endswith(":cutoff_handler")


def test_an_edit_reruns_its_shards_and_what_their_outputs_changed(
    tmp_path: Path, side_log_file: Path
) -> None:
    """line_7 edited: its context shard reruns but comes out identical (context ignores text),
    so the translate units beside it are reused (early cutoff); its translate shard's output
    changed in line_7's record only, so only the qa units holding line_7 rerun (inputs are
    narrowed to a unit's lines: qa line_8..12 gets the unchanged records of lines 8 and 9),
    and the export."""
    lines = make_lines(12)
    old = build_plan(tmp_path / "a", lines, LAYOUTS)
    assert _run(old, tmp_path / "old").code == 0
    side_log_file.unlink()
    new = build_plan(tmp_path / "b", _edited(lines, 6, "An edited line."), LAYOUTS)
    result = _run(new, tmp_path / "new", tmp_path / "old")
    assert result.code == 0, result.console
    ran = {unit for unit, kind in _kinds(tmp_path / "new").items() if kind == "ran"}
    assert ran == {
        "context:line_6",
        "translate.en:line_7",
        "translate.fr:line_7",
        "qa.en:line_1",
        "qa.fr:line_1",
        "export.en:line_1",
        "export.fr:line_1",
    }
    assert sorted(side_log(side_log_file)) == sorted(ran)
    fresh = _run(new, tmp_path / "fresh")
    assert fresh.code == 0
    assert tree_bytes(tmp_path / "new") == tree_bytes(tmp_path / "fresh")


def test_another_handler_or_version_reuses_nothing(tmp_path: Path) -> None:
    plan = build_plan(tmp_path, make_lines(4), LAYOUTS[:2])
    assert _run(plan, tmp_path / "old").code == 0
    result = _run(plan, tmp_path / "new", tmp_path / "old", handler="versioned_handler")
    assert result.code == 0
    assert set(_kinds(tmp_path / "new").values()) == {"ran"}
    assert handler_identity("h", handlers.versioned_handler) == "h@2"
    assert handler_identity("h", handlers.cutoff_handler) == "h"


def test_inputs_digest_hashes_the_records_as_stored() -> None:
    import hashlib

    inputs = {"translate": [{"b": 1, "a": "é"}], "context": []}
    stored = '"context"\n"translate"\n{"b":1,"a":"é"}\n'.encode()
    assert inputs_digest(inputs) == hashlib.sha256(stored).hexdigest()  # type: ignore[arg-type]


def test_a_damaged_output_is_rerun_never_copied(tmp_path: Path) -> None:
    plan = build_plan(tmp_path, make_lines(6), LAYOUTS[:2])
    assert _run(plan, tmp_path / "old").code == 0
    damage_unit(tmp_path / "old", "translate.en:line_4", b"LINE", b"LIME")
    result = _run(plan, tmp_path / "new", tmp_path / "old")
    assert result.code == 0
    assert (
        "translate.en:line_4: its records in outputs/translate.en.jsonl do not match their "
        "journal checksum (damaged)" in result.console
    )
    kinds = _kinds(tmp_path / "new")
    assert kinds["translate.en:line_4"] == "ran"
    assert list(kinds.values()).count("ran") == 1
    assert b"LIME" not in (tmp_path / "new" / "outputs/translate.en.jsonl").read_bytes()


def test_a_journal_without_fingerprints_cannot_be_reused_from(tmp_path: Path) -> None:
    plan = build_plan(tmp_path, make_lines(3), LAYOUTS[:1])
    assert _run(plan, tmp_path / "old").code == 0
    journal = tmp_path / "old" / "journal.jsonl"
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    journal.write_text("".join(json.dumps({**r, "fingerprint": None}) + "\n" for r in records))
    dry = _run(plan, tmp_path / "dry", tmp_path / "old", dry_run=True)
    assert "1 finished before reuse existed (no fingerprint): context:line_1" in dry.console
    assert _run(plan, tmp_path / "new", tmp_path / "old").code == 0
    assert set(_kinds(tmp_path / "new").values()) == {"ran"}


def test_several_reuse_directories_are_tried_in_order(tmp_path: Path) -> None:
    lines = make_lines(10)
    first = build_plan(tmp_path / "a", lines[:5], LAYOUTS[:1])
    assert _run(first, tmp_path / "old1").code == 0
    whole = build_plan(tmp_path / "b", lines, LAYOUTS[:1])
    assert _run(whole, tmp_path / "old2").code == 0
    result = _run(whole, tmp_path / "new", tmp_path / "old1", tmp_path / "old2")
    assert result.code == 0
    sources = {
        e.unit_id: e.source for e in read_events(tmp_path / "new") if isinstance(e, UnitReused)
    }
    assert sources == {
        "context:line_1": str(tmp_path / "old1"),
        "context:line_6": str(tmp_path / "old2"),
    }


def test_phase_events_count_reused_units_apart(tmp_path: Path) -> None:
    plan = build_plan(tmp_path, make_lines(6), LAYOUTS[:2])
    assert _run(plan, tmp_path / "old").code == 0
    assert _run(plan, tmp_path / "new", tmp_path / "old").code == 0
    phases = [e for e in read_events(tmp_path / "new") if isinstance(e, PhaseCompleted)]
    assert [(e.phase, e.completed, e.reused, e.resumed) for e in phases] == [
        ("context", 0, 2, 0),
        ("translate", 0, 4, 0),
    ]


def test_refusals_write_nothing(tmp_path: Path) -> None:
    plan = build_plan(tmp_path, make_lines(3), LAYOUTS[:1])
    assert _run(plan, tmp_path / "old").code == 0
    missing = _run(plan, tmp_path / "new", tmp_path / "nowhere")
    assert missing.code == 2
    assert "--reuse" in missing.console
    assert "nowhere" in missing.console
    itself = _run(plan, tmp_path / "old", tmp_path / "old")
    assert itself.code == 2
    assert "is the run directory itself" in itself.console
    fd = os.open(tmp_path / "old" / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a live run holds it
        locked = _run(plan, tmp_path / "new", tmp_path / "old")
    finally:
        os.close(fd)
    assert locked.code == 1
    assert "being written by a running `shardplan run`" in locked.console
    assert not (tmp_path / "new").exists()


def test_dry_run_counts_per_phase_with_reasons_and_writes_nothing(
    tmp_path: Path, side_log_file: Path
) -> None:
    lines = make_lines(12)
    old = build_plan(tmp_path / "a", lines, LAYOUTS)
    assert _run(old, tmp_path / "old").code == 0
    side_log_file.unlink()
    new = build_plan(tmp_path / "b", _edited(lines, 6, "An edited line."), LAYOUTS)
    result = _run(new, tmp_path / "new", tmp_path / "old", dry_run=True)
    assert result.code == 0, result.console
    assert result.console.splitlines() == [
        "dry run: no handler is called and nothing is written",
        f"reuse from {tmp_path / 'old'}: 17 finished unit(s)",
        "context: 1 would run, 2 would be reused",
        "  1 shard changed: context:line_6",
        "translate: 6 would run, 2 would be reused",
        "  2 shard changed: translate.en:line_7, translate.fr:line_7",
        "  4 upstream dirty: translate.en:line_4, translate.fr:line_4, translate.en:line_10"
        " (+1 more)",
        "qa: 4 would run, 0 would be reused",
        "  2 shard changed: qa.en:line_1, qa.fr:line_1",
        "  2 upstream dirty: qa.en:line_8, qa.fr:line_8",
        "export: 2 would run, 0 would be reused",
        "  2 shard changed: export.en:line_1, export.fr:line_1",
        "total: 13 would run, 4 would be reused",
    ]
    assert not (tmp_path / "new").exists()
    assert side_log(side_log_file) == []


def test_dry_run_counts_units_already_done_in_out(tmp_path: Path) -> None:
    plan = build_plan(tmp_path, make_lines(6), LAYOUTS[:2])
    assert _run(plan, tmp_path / "run").code == 0
    result = _run(plan, tmp_path / "run", dry_run=True)
    assert result.code == 0
    assert "total: 0 would run, 0 would be reused, 6 already done" in result.console
    fresh = _run(plan, tmp_path / "fresh", dry_run=True)
    assert "  2 no matching finished unit: context:line_1, context:line_6" in fresh.console
    assert "total: 6 would run, 0 would be reused" in fresh.console


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.text(),
        st.lists(st.dictionaries(st.text(), _JSON, max_size=4), max_size=5),
        max_size=4,
    ),
    st.integers(1, 3),
)
def test_the_inputs_digest_is_the_same_in_any_block_size_and_tells_inputs_apart(
    inputs: dict[str, list[dict[str, JsonValue]]], block: int
) -> None:
    """Streamed a block of records at a time, the digest hashes the same bytes whatever the
    block; and moving a record to another phase, or dropping one, changes it (the phase
    headers cannot be mistaken for records)."""
    whole = hashlib.sha256(
        b"".join(
            orjson.dumps(name) + b"\n" + b"".join(orjson.dumps(r) + b"\n" for r in inputs[name])
            for name in sorted(inputs)
        )
    ).hexdigest()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fingerprint, "DIGEST_BLOCK", block)
        assert fingerprint.inputs_digest(inputs) == whole
    names = sorted(inputs)
    for name in names:
        if inputs[name]:
            dropped = {**inputs, name: inputs[name][1:]}
            assert fingerprint.inputs_digest(dropped) != whole
            for other in names:
                if other != name:
                    moved = {
                        **inputs,
                        name: inputs[name][1:],
                        other: [inputs[name][0], *inputs[other]],
                    }
                    assert fingerprint.inputs_digest(moved) != whole
