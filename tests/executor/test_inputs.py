"""`inputs`: earlier phases' records of overlapping shards, in this language or none, in plan order."""

from __future__ import annotations

import json
from pathlib import Path

from .helpers import run_in_process
from .plan_factory import PIPELINE, build_plan, make_lines


def _unit_inputs(out: Path, phase_dir: str, first_line: str) -> dict[str, int]:
    first = (out / "outputs" / phase_dir / f"{first_line}.jsonl").read_text().splitlines()[0]
    counts: dict[str, int] = json.loads(first)["inputs"]
    return counts


def test_inputs_hold_overlapping_records_of_the_same_language(tmp_path: Path) -> None:
    # 12 lines: context in 5s (1-5, 6-10, 11-12), translate in 3s, qa in 7s, edit in 4s.
    plan = build_plan(tmp_path, make_lines(12), list(PIPELINE))
    out = tmp_path / "run"
    assert run_in_process(plan, "echo_handler", out).code == 0
    # translate line_4-6 overlaps context 1-5 and 6-10: 10 context records; ingest: all 12.
    assert _unit_inputs(out, "translate.fr", "line_4") == {"ingest": 12, "context": 10}
    # qa line_8-12 (second qa shard) overlaps translate 7-9, 10-12 in fr only: 6 records.
    assert _unit_inputs(out, "qa.fr", "line_8") == {
        "ingest": 12,
        "context": 7,
        "translate": 6,
    }
    # export (one full shard) sees every line once per earlier phase, in its language only.
    assert _unit_inputs(out, "export.en", "line_1") == {
        "ingest": 12,
        "context": 12,
        "translate": 12,
        "qa": 12,
        "edit": 12,
    }
    export = (out / "export" / "en.jsonl").read_text().splitlines()
    assert [json.loads(line)["line_id"] for line in export] == [f"line_{n}" for n in range(1, 13)]
    assert {json.loads(line)["language"] for line in export} == {"en"}
