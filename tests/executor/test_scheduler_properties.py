"""Properties of the sliding window over arbitrary outcomes, durations, caps and budgets."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from shardplan_executor.scheduler import Failure, Success, run_window
from shardplan_executor.store import Stored
from shardplan_executor.units import Unit, phase_units
from shardplan_schemas.plan import RunPolicy

from .plan_factory import Layout, make_lines, plan_phase


class _Recorder:
    def __init__(self) -> None:
        self.completed_ids: list[str] = []
        self.failed_ids: list[str] = []
        self.retries: list[tuple[str, int]] = []

    def started(self, unit: Unit) -> None:
        return None

    def retried(self, unit: Unit, attempt: int, error: str, delay_ms: int) -> None:
        self.retries.append((unit.unit_id, attempt))

    def succeeded(self, batch: Sequence[Success]) -> None:
        self.completed_ids.extend(s.unit.unit_id for s in batch)

    def failed(self, failure: Failure) -> None:
        self.failed_ids.append(failure.unit.unit_id)


_LINES = make_lines(40)
UNITS = phase_units(
    0, plan_phase(Layout("context", chunk_size=1), _LINES), [line.line_id for line in _LINES]
)


@settings(max_examples=60, deadline=None)
@given(
    outcomes=st.lists(st.tuples(st.booleans(), st.integers(0, 3)), min_size=0, max_size=40),
    cap=st.integers(1, 6),
    budget=st.integers(1, 4),
    retries=st.integers(0, 2),
)
def test_every_unit_ends_once_within_the_cap(
    outcomes: list[tuple[bool, int]], cap: int, budget: int, retries: int
) -> None:
    units = UNITS[: len(outcomes)]
    fails = {u.unit_id: not ok for u, (ok, _) in zip(units, outcomes, strict=True)}
    delays = {u.unit_id: ms for u, (_, ms) in zip(units, outcomes, strict=True)}
    in_flight = 0
    most = 0

    async def call(unit: Unit) -> Stored:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            await asyncio.sleep(delays[unit.unit_id] / 1000)
        finally:
            in_flight -= 1
        if fails[unit.unit_id]:
            raise RuntimeError(unit.unit_id)
        return Stored(None, 0, 0, "", 0)

    policy = RunPolicy(
        max_retries=retries, backoff_ms=0, max_backoff_ms=0, max_consecutive_failures=budget
    )
    sink = _Recorder()
    result = asyncio.run(
        run_window(units, cap=cap, policy=policy, call=call, sink=sink, rng=random.Random(0))
    )
    assert most <= cap
    ended = sink.completed_ids + sink.failed_ids
    assert len(ended) == len(set(ended))
    assert result.completed == len(sink.completed_ids)
    assert result.failed == len(sink.failed_ids)
    assert result.completed + result.failed + result.cancelled == len(units)
    assert all(fails[u] for u in sink.failed_ids)
    assert not any(fails[u] for u in sink.completed_ids)
    # Each failed unit was retried exactly `retries` times before it was given up on.
    for unit_id in sink.failed_ids:
        assert [a for u, a in sink.retries if u == unit_id] == list(range(1, retries + 1))
    if result.aborted:
        assert result.failed >= budget
    else:
        assert result.cancelled == 0
        assert sorted(ended) == sorted(u.unit_id for u in units)
