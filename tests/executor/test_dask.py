"""The Dask backend: a real LocalCluster, the same cap, byte-identical outputs to local."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import handler_ref, run_in_process, tree_bytes
from .plan_factory import PIPELINE, build_plan, make_lines

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
