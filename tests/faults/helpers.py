"""A compiled workload and `shardplan` subprocesses for the fault tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from shardplan_executor.run_outputs import unit_outputs

REPO = Path(__file__).resolve().parents[2]
SPEC = """\
version: 1
project: fault-trials
source: {path: script.jsonl}
languages: {source_language: ja, target_languages: [en, fr]}
phases:
  - phase: ingest
  - phase: context
    agents: [scene_summarizer]
  - phase: pretranslation
    agents: [idiom_labeler]
    execution: {strategy: chunk, chunk_size: 6}
  - phase: translate
    agents: [direct_translator]
    execution: {strategy: chunk, chunk_size: 6}
  - phase: qa
    agents: [style_guide_critic]
    execution: {strategy: chunk, chunk_size: 12}
  - phase: edit
    agents: [basic_editor]
    execution: {strategy: chunk, chunk_size: 12}
  - phase: export
"""


def shardplan_command() -> list[str]:
    script = Path(sys.executable).parent / "shardplan"
    return [str(script)] if script.exists() else [sys.executable, "-m", "shardplan_compiler"]


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("GITHUB_ACTIONS", None)
    return env


def shardplan(
    args: Sequence[str],
    cwd: Path,
    timeout: float = 120,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`shardplan ARGS` in `cwd`, output captured as text."""
    return subprocess.run(
        [*shardplan_command(), *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=preexec_fn,
    )


def write_workload(directory: Path, lines: int, spec: str = SPEC) -> Path:
    """The spec and a generated source of `lines` lines in `directory`; returns the spec."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "script.jsonl").open("w", encoding="utf-8") as stream:
        for n in range(1, lines + 1):
            record = {
                "line_id": f"line_{n}",
                "scene_id": f"scene_{(n - 1) // 40 + 1}",
                "route_id": f"route_{(n - 1) // 300 + 1}",
                "text": f"Line {n}, with a {{name}} placeholder.",
            }
            stream.write(json.dumps(record) + "\n")
    spec_path = directory / "faults.shardplan.yaml"
    spec_path.write_text(spec, encoding="utf-8")
    return spec_path


def compile_plan(directory: Path, lines: int, plan_name: str = "faults.plan.json") -> Path:
    """Compile the workload in `directory` with the real CLI; returns the plan path."""
    write_workload(directory, lines)
    done = shardplan(["compile", "faults.shardplan.yaml", "-o", plan_name], directory)
    assert done.returncode == 0, done.stderr
    return directory / plan_name


def journal_ids(run_dir: Path) -> list[str]:
    """Unit ids of the journal's complete records, in order, duplicates kept."""
    path = run_dir / "journal.jsonl"
    if not path.exists():
        return []
    return [
        json.loads(line)["id"]
        for line in path.read_bytes().splitlines(keepends=True)
        if line.endswith(b"\n")
    ]


def completed_per_run(run_dir: Path) -> list[list[str]]:
    """The `unit_completed` unit ids of each run (a `run_started` event begins a run)."""
    path = run_dir / "events.jsonl"
    runs: list[list[str]] = []
    if not path.exists():
        return runs
    for line in path.read_bytes().splitlines(keepends=True):
        if not line.endswith(b"\n"):
            continue  # a record torn by the kill
        event = json.loads(line)
        if event["event"] == "run_started":
            runs.append([])
        elif event["event"] == "unit_completed" and runs:
            runs[-1].append(event["unit_id"])
    return runs


def outputs(run_dir: Path) -> dict[str, bytes]:
    """What a run produced: each intact journaled unit's records (by unit id, read from the
    segments) and every file under export/ (by relative path)."""
    files: dict[str, bytes] = dict(unit_outputs(run_dir))
    for path in sorted((run_dir / "export").rglob("*")):
        if path.is_file():
            files[path.relative_to(run_dir).as_posix()] = path.read_bytes()
    return files
