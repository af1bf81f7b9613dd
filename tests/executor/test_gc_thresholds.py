"""A run collects young garbage less often, and gives the process its thresholds back."""

from __future__ import annotations

import gc

import pytest

from shardplan_executor.runner import GC_YOUNG_THRESHOLD, young_collections_every


def _failing_run(before: tuple[int, int, int]) -> None:
    with young_collections_every(GC_YOUNG_THRESHOLD):
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
        raise RuntimeError("a failed run")


def test_the_thresholds_are_raised_for_the_run_and_restored_even_on_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError, match="a failed run"):
        _failing_run(before)
    assert gc.get_threshold() == before
