"""Running the executor from tests: in-process (fast) or as a `shardplan run` subprocess."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shardplan_executor.progress import Progress
from shardplan_executor.run_outputs import unit_outputs
from shardplan_executor.runner import RunOptions, run_plan
from shardplan_schemas.events import EVENT_ADAPTER, Event

from . import exec_test_handlers

HERE = Path(__file__).resolve().parent


def handler_ref(name: str) -> str:
    """`module:function` for a handler of `exec_test_handlers`, importable in this process."""
    return f"{exec_test_handlers.__name__}:{name}"


@dataclass(frozen=True)
class InProcessRun:
    code: int
    console: str


def run_in_process(
    plan: Path, handler: str, out: Path, *, timeout_s: float | None = None, **options: object
) -> InProcessRun:
    """`shardplan run` without a new interpreter; the console text is captured."""
    console = io.StringIO()
    code = run_plan(
        RunOptions(
            plan_path=plan,
            handler=handler_ref(handler),
            out_dir=out,
            unit_timeout_s=timeout_s,
            **options,  # type: ignore[arg-type]
        ),
        Progress(console, live=False),
    )
    return InProcessRun(code, console.getvalue())


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment of a `shardplan run` subprocess: `exec_test_handlers` importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


def run_command(
    args: Sequence[str], cwd: Path, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """`python -m shardplan_executor ARGS` in `cwd`."""
    return subprocess.run(
        [sys.executable, "-m", "shardplan_executor", *args],
        cwd=cwd,
        env=subprocess_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def read_events(run_dir: Path) -> list[Event]:
    """Every event of the run directory, each validated by its model."""
    lines = (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [EVENT_ADAPTER.validate_json(line) for line in lines]


def journal_ids(run_dir: Path) -> list[str]:
    """Unit ids in the journal, in order (duplicates kept)."""
    path = run_dir / "journal.jsonl"
    if not path.exists():
        return []
    ids: list[str] = []
    for line in path.read_bytes().splitlines(keepends=True):
        if line.endswith(b"\n"):
            ids.append(json.loads(line)["id"])
    return ids


def tree_bytes(run_dir: Path) -> dict[str, bytes]:
    """What a run produced: each intact journaled unit's records (by unit id, read from the
    segments) and every file under export/ (by relative path)."""
    files: dict[str, bytes] = dict(unit_outputs(run_dir))
    for path in sorted((run_dir / "export").rglob("*")):
        if path.is_file():
            files[path.relative_to(run_dir).as_posix()] = path.read_bytes()
    return files


def side_log(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def unit_range(run_dir: Path, unit_id: str) -> tuple[Path, int, int]:
    """`(segment, offset, length)` of a unit's records, from its last journal record."""
    found: tuple[Path, int, int] | None = None
    for line in (run_dir / "journal.jsonl").read_bytes().splitlines(keepends=True):
        if not line.endswith(b"\n"):
            continue  # torn
        record = json.loads(line)
        if record["id"] == unit_id and record["output"] is not None:
            found = (run_dir / record["output"], record["offset"], record["length"])
    assert found is not None, f"{unit_id} has no records in {run_dir}"
    return found


def damage_unit(run_dir: Path, unit_id: str, old: bytes, new: bytes) -> None:
    """Replace `old` by `new` (same length) inside one unit's range of its segment."""
    assert len(old) == len(new)
    segment, offset, length = unit_range(run_dir, unit_id)
    data = bytearray(segment.read_bytes())
    part = bytes(data[offset : offset + length])
    assert old in part
    data[offset : offset + length] = part.replace(old, new)
    segment.write_bytes(bytes(data))
