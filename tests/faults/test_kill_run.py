"""SIGKILL of `shardplan run` at random moments, then a resume: exact every time.

Complements `tests/executor/test_resume_kill.py` (test handlers, plans built
without the compiler): here the plan comes from `shardplan compile`, the run
is the installed `shardplan run` with the built-in `pseudo` handler, and each
trial is one kill followed by one resume that is checked on its own. Kill
moments are seeded: a few at random times early on, the rest once the
journal holds a random number of units, so start-up, every phase and the
end are all hit across the trials.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from .helpers import (
    cli_env,
    compile_plan,
    completed_per_run,
    journal_ids,
    outputs,
    shardplan,
    shardplan_command,
)

TRIALS = 20
SEED = 20261127
LINES = 480
STARTUP_TRIALS = 4
"""Trials killed at a random time early on (start-up, plan verification, the first units);
the others are killed once the journal holds a random number of units, so that kills land
in every phase even on a busy machine."""

Moment = tuple[Literal["seconds", "units"], float]


def _run_args(plan: Path, out: Path) -> list[str]:
    return ["run", str(plan), "--handler", "pseudo", "--out", str(out), "--quiet"]


def _journaled(out: Path) -> int:
    try:
        return (out / "journal.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _wait_for_moment(process: subprocess.Popen[bytes], out: Path, moment: Moment) -> None:
    """Sleep for a time, or until the journal holds a number of units (or the run ended)."""
    kind, amount = moment
    if kind == "seconds":
        time.sleep(amount)
        return
    deadline = time.monotonic() + 60
    while process.poll() is None and _journaled(out) < amount and time.monotonic() < deadline:
        time.sleep(0.002)


def _trial(plan: Path, out: Path, moment: Moment, every_unit: set[str]) -> str:
    """One kill and one resume; returns how the killed run ended (for the trial summary)."""
    process = subprocess.Popen(
        [*shardplan_command(), *_run_args(plan, out)],
        cwd=plan.parent,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for_moment(process, out, moment)
    killed = process.poll() is None
    if killed:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=120)
    before = journal_ids(out)
    assert len(before) == len(set(before)), "the killed run journaled a unit twice"
    assert set(before) <= every_unit

    resumed = shardplan(_run_args(plan, out), plan.parent)
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    after = journal_ids(out)
    assert after[: len(before)] == before, "the resume rewrote the journal"
    assert len(after) == len(set(after)), "a unit was journaled twice"
    assert set(after) == every_unit, "a unit was lost"
    rerun = set(completed_per_run(out)[-1]) & set(before)
    assert not rerun, f"the resume ran finished units again: {sorted(rerun)[:5]}"
    return f"killed after {len(before)} units" if killed else "finished before the kill"


def test_sigkill_at_random_moments_resumes_exactly(tmp_path: Path) -> None:
    plan = compile_plan(tmp_path / "work", LINES)
    reference = tmp_path / "reference"
    clean = shardplan(_run_args(plan, reference), plan.parent)
    assert clean.returncode == 0, clean.stderr
    every_unit = set(journal_ids(reference))
    expected = outputs(reference)
    assert len(every_unit) > 400
    assert any(name.startswith("export/") for name in expected)

    rng = random.Random(SEED)
    moments: list[Moment] = [("seconds", rng.uniform(0.0, 0.8)) for _ in range(STARTUP_TRIALS)]
    moments += [
        ("units", rng.randrange(1, len(every_unit))) for _ in range(TRIALS - STARTUP_TRIALS)
    ]
    with ThreadPoolExecutor(2) as pool:
        endings = list(
            pool.map(
                lambda trial: _trial(plan, tmp_path / f"run{trial}", moments[trial], every_unit),
                range(TRIALS),
            )
        )
    for trial in range(TRIALS):
        assert outputs(tmp_path / f"run{trial}") == expected, f"trial {trial}: outputs differ"
    # The kills must really interrupt runs, at different points, for the test to mean anything.
    interrupted = [ending for ending in endings if ending.startswith("killed")]
    assert len(interrupted) >= TRIALS // 2, endings
    assert len(set(interrupted)) >= TRIALS // 2, endings
    print(f"{TRIALS} kill trials:", "; ".join(endings))
