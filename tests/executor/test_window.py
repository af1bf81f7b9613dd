"""The sliding window: the phase cap holds, and a slow unit holds back only its own slot."""

from __future__ import annotations

from pathlib import Path

import pytest

from shardplan_schemas.events import PhaseCompleted, PhaseStarted

from . import exec_test_handlers
from .helpers import read_events, run_in_process
from .plan_factory import Layout, build_plan, make_lines


@pytest.mark.parametrize("cap", [1, 3, 7])
def test_a_handler_never_sees_more_units_at_once_than_the_cap(tmp_path: Path, cap: int) -> None:
    plan = build_plan(
        tmp_path,
        make_lines(30),
        [Layout("context", chunk_size=1, cap=cap), Layout("translate", chunk_size=2, cap=cap + 1)],
    )
    exec_test_handlers.reset_concurrency()
    result = run_in_process(plan, "concurrency_handler", tmp_path / "run")
    assert result.code == 0, result.console
    # The window is full while units remain, so the cap is reached, and never passed.
    assert exec_test_handlers.max_seen == cap + 1
    started = [e for e in read_events(tmp_path / "run") if isinstance(e, PhaseStarted)]
    assert [(e.phase, e.max_parallel_agents, e.unit_count) for e in started] == [
        ("context", cap, 30),
        ("translate", cap + 1, 15),
    ]


def test_slow_units_do_not_hold_back_a_wave(tmp_path: Path) -> None:
    """40 one-line units under cap 4, every fourth taking 1 s.

    In waves of 4 each wave holds one slow unit: 10 waves, 10 s. In a sliding
    window the 36... fast units stream past the slow ones, which fill the 4 slots
    in ceil(10 / 4) = 3 rounds of 1 s: about 3 s, and never less than 3 s
    (the lower bound proves the slow units really ran). 5 s leaves room for a
    loaded machine while staying far from what waves would take.
    """
    plan = build_plan(tmp_path, make_lines(40), [Layout("context", chunk_size=1, cap=4)])
    result = run_in_process(plan, "every_fourth_slow", tmp_path / "run")
    assert result.code == 0, result.console
    (phase,) = [e for e in read_events(tmp_path / "run") if isinstance(e, PhaseCompleted)]
    assert phase.completed == 40
    assert 2950 <= phase.duration_ms < 5000, phase.duration_ms
