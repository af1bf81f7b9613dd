"""The exported schemas describe what the tools really read and write.

A consumer that validates a plan, an events log or a source file with the
files in `generated/` must accept what shardplan produced: the golden script,
its compiled plan, and the events of a run of that plan.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[2]
GENERATED = REPO / "generated"
GOLDEN = REPO / "examples" / "golden"
SHARDPLAN = Path(sys.executable).with_name("shardplan")


def _validator(filename: str) -> jsonschema.Draft7Validator:
    schema = json.loads((GENERATED / filename).read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


def _errors(validator: jsonschema.Draft7Validator, instance: object) -> list[str]:
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(instance)]


def test_golden_script_lines_match_the_source_line_schema() -> None:
    validator = _validator("source-line.schema.json")
    lines = (GOLDEN / "script.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 58
    for number, line in enumerate(lines, start=1):
        assert _errors(validator, json.loads(line)) == [], f"script.jsonl:{number}"
    assert not validator.is_valid({"line_id": "Line 1", "text": "x"})
    assert not validator.is_valid({"line_id": "line_1", "text": ""})


def _command_available(name: str) -> bool:
    result = subprocess.run([str(SHARDPLAN), name, "--help"], capture_output=True, check=False)
    return result.returncode == 0


@pytest.mark.skipif(
    not (_command_available("compile") and _command_available("run")),
    reason="`shardplan compile`/`run` have not landed",
)
def test_a_compiled_plan_and_its_run_events_match_their_schemas(tmp_path: Path) -> None:
    plan_path = tmp_path / "golden.plan.json"
    subprocess.run(
        [str(SHARDPLAN), "compile", str(GOLDEN / "golden.shardplan.yaml"), "-o", str(plan_path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    assert _errors(_validator("shard-plan.schema.json"), plan) == []
    assert not _validator("shard-plan.schema.json").is_valid({**plan, "format": "shardplan/1"})

    run_dir = tmp_path / "run"
    subprocess.run(
        [str(SHARDPLAN), "run", str(plan_path), "--handler", "pseudo", "--out", str(run_dir)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    events_validator = _validator("events.schema.json")
    events = [
        json.loads(line)
        for line in (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    kinds = {event["event"] for event in events}
    assert {"run_started", "phase_started", "unit_completed", "run_completed"} <= kinds
    for event in events:
        assert _errors(events_validator, event) == [], event
    assert not events_validator.is_valid({**events[0], "event": "run_exploded"})
