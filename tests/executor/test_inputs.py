"""`inputs`: earlier phases' records that concern the unit, in this language or none, in plan order."""

from __future__ import annotations

import json
from pathlib import Path

from shardplan_executor.run_outputs import unit_outputs
from shardplan_schemas.source import SourceLine

from .helpers import run_in_process
from .plan_factory import PIPELINE, Layout, build_plan, make_lines


def _first_record(out: Path, unit_id: str) -> dict[str, object]:
    """The first record a unit wrote (from its range of its segment)."""
    first: dict[str, object] = json.loads(unit_outputs(out)[unit_id].splitlines()[0])
    return first


def _unit_inputs(out: Path, phase_dir: str, first_line: str) -> dict[str, int]:
    counts = _first_record(out, f"{phase_dir}:{first_line}")["inputs"]
    assert isinstance(counts, dict)
    return counts


def test_inputs_hold_the_records_of_the_units_lines_in_its_language(tmp_path: Path) -> None:
    # 12 lines: context in 5s (1-5, 6-10, 11-12), translate in 3s, qa in 7s, edit in 4s.
    plan = build_plan(tmp_path, make_lines(12), list(PIPELINE))
    out = tmp_path / "run"
    assert run_in_process(plan, "echo_handler", out).code == 0
    # translate line_4-6: the records of lines 4-6 only, though ingest is one full shard.
    assert _unit_inputs(out, "translate.fr", "line_4") == {"ingest": 3, "context": 3}
    # qa line_8-12 (second qa shard): its 5 lines of each earlier phase, translate in fr only.
    assert _unit_inputs(out, "qa.fr", "line_8") == {
        "ingest": 5,
        "context": 5,
        "translate": 5,
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


def _routed_lines() -> list[SourceLine]:
    """12 lines in scenes of 5; lines 1-6 on route_1, 7-12 on route_2."""
    return [
        line.model_copy(update={"route_id": "route_1" if n <= 6 else "route_2"})
        for n, line in enumerate(make_lines(12), start=1)
    ]


def test_records_without_a_line_go_by_scene_route_or_to_everyone(tmp_path: Path) -> None:
    """DESIGN §8: by line_id; else by scene_id or route_id; a record naming none goes to all."""
    plan = build_plan(
        tmp_path,
        _routed_lines(),
        [Layout("context", chunk_size=6), Layout("translate", chunk_size=3, languages=("en",))],
    )
    out = tmp_path / "run"
    assert run_in_process(plan, "scoped_handler", out).code == 0

    def received(first_line: str) -> list[str]:
        got = _first_record(out, f"translate.en:{first_line}")["received"]
        assert isinstance(got, list)
        return got

    # The first context unit (lines 1-6) wrote its 6 line records, then one record each
    # naming only scene_2, only route_2, nothing, an unknown line and line_12 (another
    # shard's line); the second (lines 7-12) one record per line.
    assert received("line_1") == ["line_1", "line_2", "line_3", "everyone"]
    assert received("line_4") == ["line_4", "line_5", "line_6", "scene_2", "everyone"]
    assert received("line_7") == ["scene_2", "route_2", "everyone", "line_7", "line_8", "line_9"]
    assert received("line_10") == [
        "scene_2",
        "route_2",
        "everyone",
        "line_12",
        "line_10",
        "line_11",
        "line_12",
    ]
