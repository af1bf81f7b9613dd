"""End to end: compile the golden example, run it through `pseudo`, read the export."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from shardplan_executor.handlers.pseudo import pseudolocalize
from shardplan_schemas.source import TranslatedLine

from .helpers import read_events, run_command

GOLDEN = Path(__file__).resolve().parents[2] / "examples" / "golden"


def test_the_golden_example_runs_end_to_end_through_pseudo(tmp_path: Path) -> None:
    for name in ("golden.shardplan.yaml", "script.jsonl"):
        shutil.copy(GOLDEN / name, tmp_path / name)
    compiled = subprocess.run(
        [
            sys.executable,
            "-m",
            "shardplan_compiler",
            "compile",
            "golden.shardplan.yaml",
            "-o",
            "golden.plan.json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert compiled.returncode == 0, compiled.stderr
    result = run_command(["golden.plan.json", "--handler", "pseudo"], tmp_path)
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "golden.plan.run"  # the default --out, next to the plan
    source = [json.loads(line) for line in (GOLDEN / "script.jsonl").read_text().splitlines()]
    assert len(source) == 58
    for language in ("en", "fr"):
        lines = [
            TranslatedLine.model_validate_json(line)
            for line in (run_dir / "export" / f"{language}.jsonl").read_text().splitlines()
        ]
        assert [line.line_id for line in lines] == [s["line_id"] for s in source]
        assert {line.language for line in lines} == {language}
        assert {line.phase for line in lines} == {"translate"}  # edit is disabled in the spec
        assert [line.text for line in lines] == [pseudolocalize(s["text"]) for s in source]
    events = read_events(run_dir)
    assert [e.event for e in events][-1] == "run_completed"
    assert [e.phase for e in events if e.event == "phase_skipped"] == ["edit"]
