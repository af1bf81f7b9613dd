"""A short, seeded fuzz run of every target inside `make test` (`make fuzz` runs them long).

Each target runs in its own process for a few seconds from the repository's
example seeds; a crash fails the test and shows the input that caused it.
Two targets run at a time (the suite has two cores).
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .runner import FuzzResult, run_target
from .targets import TARGETS

SECONDS_PER_TARGET = 4
SEED = 6


@pytest.fixture(scope="module")
def fuzz_results() -> dict[str, FuzzResult]:
    with (
        tempfile.TemporaryDirectory(prefix="shardplan-fuzz-") as work,
        ThreadPoolExecutor(2) as pool,
    ):
        results = pool.map(
            lambda target: run_target(target, SECONDS_PER_TARGET, Path(work), SEED), TARGETS
        )
        return {result.target: result for result in results}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fuzz_target_finds_no_crash(target: str, fuzz_results: dict[str, FuzzResult]) -> None:
    result = fuzz_results[target]
    assert result.ok, (
        f"{target}: crashing input {result.artifact!r}\n{result.log_tail}"
        if result.artifact is not None
        else f"{target} did not run cleanly:\n{result.log_tail}"
    )
    assert result.executions > 50, f"{target} ran only {result.executions} inputs"


def test_a_raising_target_is_reported_with_its_input(tmp_path: Path) -> None:
    """The harness itself: a target that raises must fail the run and keep the input."""
    result = run_target("selftest_crash", 5, tmp_path, SEED)
    assert not result.ok
    assert result.artifact is not None
    assert b"boom" in result.artifact


@pytest.mark.parametrize("target", ["selftest_crash", "plan"])
def test_the_hypothesis_fallback_driver_runs_and_reports(target: str, tmp_path: Path) -> None:
    """Where atheris is missing, `st.binary()` drives the same targets with the same reports."""
    result = run_target(target, 2, tmp_path, SEED, driver="hypothesis")
    if target == "selftest_crash":
        assert not result.ok
        assert result.artifact is not None
        assert b"boom" in result.artifact
    else:
        assert result.ok, result.log_tail
        assert result.executions > 10
