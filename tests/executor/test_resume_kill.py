"""kill -9 at random moments, then resume: nothing lost, nothing finished run twice."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from .helpers import journal_ids, side_log, subprocess_env, tree_bytes
from .plan_factory import Layout, build_plan, make_lines

KILLS = 20
SEED = 20260127


def _start(plan: Path, out: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shardplan_executor",
            str(plan),
            "--out",
            str(out),
            "--quiet",
            "--handler",
            "exec_test_handlers:logging_handler",
        ],
        cwd=plan.parent,
        env=subprocess_env(SHARDPLAN_TEST_SIDE_LOG=str(log), SHARDPLAN_TEST_SLEEP_MAX_MS="40"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_killed_runs_resume_exactly(tmp_path: Path) -> None:
    """Chains of runs, each killed at a random moment (start-up included) and resumed.

    Every chain ends with an uninterrupted run; then every unit is journaled
    exactly once, no unit journaled before an attempt ran again in it, and the
    outputs equal those of a run never interrupted.
    """
    layouts = [
        Layout("ingest"),
        Layout("context", chunk_size=2, cap=3),
        Layout("translate", chunk_size=3, cap=4, languages=("en", "fr")),
        Layout("export", languages=("en", "fr")),
    ]
    plan = build_plan(tmp_path / "plan", make_lines(48), layouts)
    every_unit = 1 + 24 + 16 * 2 + 2

    reference = tmp_path / "reference"
    clean = _start(plan, reference, tmp_path / "reference.log")
    clean.communicate(timeout=60)
    assert clean.returncode == 0
    expected = tree_bytes(reference)

    rng = random.Random(SEED)
    kills = chains = 0
    while kills < KILLS:
        chains += 1
        out, log = tmp_path / f"run{chains}", tmp_path / f"side{chains}.log"
        for _ in range(6):
            journaled_before = set(journal_ids(out))
            ran_before = len(side_log(log))
            process = _start(plan, out, log)
            time.sleep(rng.uniform(0.1, 0.9))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            process.communicate(timeout=60)
            # No unit journaled before this attempt ran again in it.
            assert not journaled_before & set(side_log(log)[ran_before:])
            ids = journal_ids(out)
            assert len(ids) == len(set(ids)), "a unit was journaled twice"
            if process.returncode == 0:
                break
        journaled_before = set(journal_ids(out))
        ran_before = len(side_log(log))
        final = _start(plan, out, log)
        _, stderr = final.communicate(timeout=60)
        assert final.returncode == 0, stderr.decode()
        assert not journaled_before & set(side_log(log)[ran_before:])
        ids = journal_ids(out)
        assert len(ids) == len(set(ids)) == every_unit
        assert tree_bytes(out) == expected
