"""Retries, the failure budget, timeouts and malformed records: visible, bounded, resumable."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from shardplan_schemas.events import (
    PhaseCompleted,
    RunCompleted,
    UnitCompleted,
    UnitFailed,
    UnitRetried,
)

from . import exec_test_handlers as handlers
from .helpers import (
    journal_ids,
    read_events,
    run_command,
    run_in_process,
    side_log,
    subprocess_env,
    tree_bytes,
)
from .plan_factory import Layout, build_plan, make_lines


def test_retries_are_events_and_a_flaky_unit_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = build_plan(
        tmp_path,
        make_lines(4),
        [Layout("context", chunk_size=1)],
        max_retries=2,
        backoff_ms=20,
        max_backoff_ms=30,
    )
    flaky = tmp_path / "flaky"
    flaky.mkdir()
    monkeypatch.setenv(handlers.FLAKY_DIR, str(flaky))
    monkeypatch.setenv(handlers.FLAKY_FAILURES, "2")
    result = run_in_process(plan, "flaky_handler", tmp_path / "run")
    assert result.code == 0, result.console
    events = read_events(tmp_path / "run")
    retried = [e for e in events if isinstance(e, UnitRetried)]
    assert sorted((e.unit_id, e.attempt) for e in retried) == [
        (f"context:line_{n}", attempt) for n in range(1, 5) for attempt in (1, 2)
    ]
    # Exponential with equal jitter: the first delay in [10, 20] ms, the second capped at 30.
    assert all(10 <= e.delay_ms <= 20 for e in retried if e.attempt == 1)
    assert all(15 <= e.delay_ms <= 30 for e in retried if e.attempt == 2)
    assert all(e.error.startswith("ConnectionError: transient failure") for e in retried)
    completed = [e for e in events if isinstance(e, UnitCompleted)]
    assert {e.attempt for e in completed} == {3}


def test_the_failure_budget_aborts_the_phase_and_a_rerun_runs_only_what_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = build_plan(
        tmp_path,
        make_lines(20),
        [Layout("context", chunk_size=1, cap=1), Layout("translate", chunk_size=5)],
        max_retries=1,
        max_consecutive_failures=3,
    )
    log = tmp_path / "side.log"
    monkeypatch.setenv(handlers.SIDE_LOG, str(log))
    # line_3 fails alone (the budget resets), then line_6..8 fail in a row: abort.
    failing = ["context:line_3", "context:line_6", "context:line_7", "context:line_8"]
    monkeypatch.setenv(handlers.FAIL_UNITS, ",".join(failing))
    result = run_in_process(plan, "failing_handler", tmp_path / "run")
    assert result.code == 1
    assert "unit context:line_3 failed after 2 attempt(s): ValueError: refusing context:line_3" in (
        result.console
    )
    events = read_events(tmp_path / "run")
    failed = [e for e in events if isinstance(e, UnitFailed)]
    assert [e.unit_id for e in failed] == failing
    assert all(e.traceback and "ValueError: refusing" in e.traceback for e in failed)
    assert len([e for e in events if isinstance(e, UnitRetried)]) == 4
    (phase,) = [e for e in events if isinstance(e, PhaseCompleted)]
    assert (phase.status, phase.completed, phase.failed, phase.cancelled) == ("aborted", 4, 4, 12)
    (run,) = [e for e in events if isinstance(e, RunCompleted)]
    assert run.status == "aborted"
    # The next phase never started: nothing of translate ran.
    assert not any(line.startswith("translate") for line in side_log(log))

    # Fixed: the rerun runs the 4 failed and the 12 cancelled units, then translate.
    monkeypatch.setenv(handlers.FAIL_UNITS, "")
    log.unlink()
    rerun = run_in_process(plan, "failing_handler", tmp_path / "run")
    assert rerun.code == 0, rerun.console
    ran = side_log(log)
    first_done = {f"context:line_{n}" for n in (1, 2, 4, 5)}
    assert not first_done & set(ran)
    assert sorted(r for r in ran if r.startswith("context")) == sorted(
        f"context:line_{n}" for n in range(1, 21) if f"context:line_{n}" not in first_done
    )
    assert sorted(journal_ids(tmp_path / "run")) == sorted(
        [f"context:line_{n}" for n in range(1, 21)]
        + [f"translate.en:line_{n}" for n in (1, 6, 11, 16)]
    )


def test_a_failed_unit_stops_the_run_before_the_next_phase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = build_plan(
        tmp_path,
        make_lines(6),
        [Layout("context", chunk_size=1), Layout("translate", chunk_size=3)],
        max_consecutive_failures=5,
    )
    log = tmp_path / "side.log"
    monkeypatch.setenv(handlers.SIDE_LOG, str(log))
    monkeypatch.setenv(handlers.FAIL_UNITS, "context:line_2")
    result = run_in_process(plan, "failing_handler", tmp_path / "run")
    assert result.code == 1
    (phase,) = [e for e in read_events(tmp_path / "run") if isinstance(e, PhaseCompleted)]
    assert (phase.status, phase.completed, phase.failed) == ("failed", 5, 1)
    assert sorted(side_log(log)) == sorted(f"context:line_{n}" for n in range(1, 7))


def test_a_hung_sync_handler_times_out_and_the_process_still_exits(tmp_path: Path) -> None:
    plan = build_plan(tmp_path, make_lines(4), [Layout("context", chunk_size=1)], max_retries=1)
    started = time.monotonic()
    result = run_command(
        [
            str(plan),
            "--handler",
            "exec_test_handlers:hanging_handler",
            "--out",
            "run",
            "--unit-timeout",
            "0.3",
        ],
        tmp_path,
        timeout=30,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert "unit context:line_2 failed after 2 attempt(s): TimeoutError" in result.stderr
    assert "--unit-timeout 0.3 s" in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 15
    assert sorted(journal_ids(tmp_path / "run")) == [
        "context:line_1",
        "context:line_3",
        "context:line_4",
    ]


def test_a_hung_async_handler_times_out(tmp_path: Path) -> None:
    plan = build_plan(tmp_path, make_lines(3), [Layout("context", chunk_size=1)])
    result = run_in_process(plan, "hanging_async_handler", tmp_path / "run", timeout_s=0.2)
    assert result.code == 1
    (failed,) = [e for e in read_events(tmp_path / "run") if isinstance(e, UnitFailed)]
    assert failed.unit_id == "context:line_2"
    assert failed.error.startswith("TimeoutError")


def test_malformed_records_fail_the_unit_with_a_reason(tmp_path: Path) -> None:
    plan = build_plan(
        tmp_path, make_lines(4), [Layout("context", chunk_size=1)], max_consecutive_failures=10
    )
    result = run_in_process(plan, "malformed_handler", tmp_path / "run")
    assert result.code == 1
    errors = {
        e.unit_id: e.error for e in read_events(tmp_path / "run") if isinstance(e, UnitFailed)
    }
    assert errors == {
        "context:line_4": "MalformedRecordsError: the handler returned a dict; it must return a "
        "list of records",
        "context:line_1": "MalformedRecordsError: record 0 is a str, not a JSON object or pydantic "
        "model",
        "context:line_2": "MalformedRecordsError: record 0 is not JSON: Object of type set is not "
        "JSON serializable",
        "context:line_3": "MalformedRecordsError: record 0 does not survive a JSON round trip "
        "(keys must be strings; values strings, numbers, booleans, null, lists or objects)",
    }
    assert journal_ids(tmp_path / "run") == []
    assert not (tmp_path / "run" / "outputs").exists()


def _make_read_only(directory: Path) -> Callable[[], None] | None:
    """Make `directory` unwritable, even for root (`chattr +i`); the undo, or None if impossible."""
    if os.geteuid() != 0:
        directory.chmod(stat.S_IRUSR | stat.S_IXUSR)
        return lambda: directory.chmod(stat.S_IRWXU)
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(directory)], check=False).returncode:
        return None

    def undo() -> None:
        subprocess.run([chattr, "-i", str(directory)], check=True)

    return undo


def test_a_read_only_out_is_a_clear_error_and_runs_nothing(tmp_path: Path) -> None:
    plan = build_plan(tmp_path, make_lines(2), [Layout("context", chunk_size=1)])
    out = tmp_path / "run"
    out.mkdir()
    undo = _make_read_only(out)
    if undo is None:
        pytest.skip("cannot make a directory read-only for root here (no chattr)")
    log = tmp_path / "side.log"
    try:
        result = run_command(
            [str(plan), "--handler", "exec_test_handlers:logging_handler", "--out", str(out)],
            tmp_path,
            SHARDPLAN_TEST_SIDE_LOG=str(log),
        )
    finally:
        undo()
    assert result.returncode == 2
    assert f"cannot write to the run directory {out}: " in result.stderr
    assert "Traceback" not in result.stderr
    assert not log.exists()


def test_python_dash_m_reaches_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shardplan_executor", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "--unit-timeout" in result.stdout


def _limit_file_size() -> None:
    # A full disk, as the process sees it: writes past 3,000 bytes fail with EFBIG
    # (Python ignores SIGXFSZ, so the write raises instead of killing the process).
    resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))


def test_a_full_disk_stops_the_run_cleanly_and_a_rerun_finishes_it(tmp_path: Path) -> None:
    plan = build_plan(tmp_path / "plan", make_lines(30), [Layout("context", chunk_size=1)])
    reference = run_command([str(plan), "--handler", "exec_test_handlers:echo_handler"], tmp_path)
    assert reference.returncode == 0, reference.stderr
    args = [str(plan), "--handler", "exec_test_handlers:echo_handler", "--out", "run"]
    full = subprocess.run(
        [sys.executable, "-m", "shardplan_executor", *args],
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=_limit_file_size,
    )
    assert full.returncode == 2, full.stderr
    assert "cannot write under run: File too large" in full.stderr
    assert "Traceback" not in full.stderr
    stopped_at = journal_ids(tmp_path / "run")
    assert 0 < len(stopped_at) < 30
    rerun = run_command(args, tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    ids = journal_ids(tmp_path / "run")
    assert ids[: len(stopped_at)] == stopped_at
    assert sorted(ids) == sorted(f"context:line_{n}" for n in range(1, 31))
    assert tree_bytes(tmp_path / "run") == tree_bytes(tmp_path / "plan" / "test.plan.run")


def test_ctrl_c_stops_cleanly_and_the_rerun_resumes(tmp_path: Path) -> None:
    plan = build_plan(tmp_path, make_lines(20), [Layout("context", chunk_size=1, cap=2)])
    log = tmp_path / "side.log"
    env = subprocess_env(SHARDPLAN_TEST_SIDE_LOG=str(log), SHARDPLAN_TEST_SLEEP_MAX_MS="200")
    args = [str(plan), "--handler", "exec_test_handlers:logging_handler", "--out", "run"]
    process = subprocess.Popen(
        [sys.executable, "-m", "shardplan_executor", *args],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not side_log(log) and time.monotonic() < deadline:  # units are running
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "interrupted: finished units are journaled" in stderr
    assert "Traceback" not in stderr
    interrupted_at = journal_ids(tmp_path / "run")
    assert len(interrupted_at) < 20
    rerun = run_command(args, tmp_path, SHARDPLAN_TEST_SIDE_LOG=str(log))
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(journal_ids(tmp_path / "run")) == sorted(
        f"context:line_{n}" for n in range(1, 21)
    )
