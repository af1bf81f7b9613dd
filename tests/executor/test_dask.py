"""The Dask backend: a real LocalCluster, the same cap, byte-identical outputs to local."""

from __future__ import annotations

from pathlib import Path

import pytest

from shardplan_schemas.events import UnitCompleted, UnitRetried

from . import exec_test_handlers as handlers
from .helpers import handler_ref, read_events, run_in_process, tree_bytes
from .plan_factory import PIPELINE, Layout, build_plan, make_lines

pytest.importorskip("distributed")


def test_dask_threads_and_local_write_identical_bytes(tmp_path: Path) -> None:
    plan = build_plan(tmp_path, make_lines(17), list(PIPELINE))
    local = run_in_process(plan, "echo_handler", tmp_path / "local")
    assert local.code == 0, local.console
    dask = run_in_process(
        plan, "echo_handler", tmp_path / "dask", backend="dask", dask_processes=False
    )
    assert dask.code == 0, dask.console
    expected = tree_bytes(tmp_path / "local")
    assert len(expected) > 30
    assert tree_bytes(tmp_path / "dask") == expected


def test_dask_spawned_worker_processes_write_identical_bytes(tmp_path: Path) -> None:
    """Workers in other processes resolve the handler by its reference and return the same bytes."""
    plan = build_plan(tmp_path, make_lines(9), list(PIPELINE[:3]))
    local = run_in_process(plan, "echo_handler", tmp_path / "local")
    assert local.code == 0, local.console
    dask = run_in_process(
        plan, "echo_handler", tmp_path / "dask", backend="dask", dask_processes=True, dask_workers=2
    )
    assert dask.code == 0, dask.console
    assert tree_bytes(tmp_path / "dask") == tree_bytes(tmp_path / "local")
    assert handler_ref("echo_handler").endswith(":echo_handler")


def test_a_lost_worker_s_unit_is_retried_by_the_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker dies mid-unit; Dask reports it (KilledWorker) and the run policy retries it."""
    import dask

    plan = build_plan(tmp_path, make_lines(2), [Layout("context")], max_retries=2)
    markers = tmp_path / "markers"
    markers.mkdir()
    monkeypatch.setenv(handlers.FLAKY_DIR, str(markers))
    # Let the scheduler give up on the first lost worker, so the retry is the executor's.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        result = run_in_process(
            plan,
            "worker_killing_handler",
            tmp_path / "run",
            backend="dask",
            dask_processes=True,
            dask_workers=1,
        )
    assert result.code == 0, result.console
    events = read_events(tmp_path / "run")
    (retried,) = [e for e in events if isinstance(e, UnitRetried)]
    assert retried.unit_id == "context:line_1"
    assert "KilledWorker" in retried.error
    assert [e.attempt for e in events if isinstance(e, UnitCompleted)] == [2]
