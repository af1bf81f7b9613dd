"""`--reuse` with `--backend dask`: reuse is decided before dispatch, outputs match a local run."""

from __future__ import annotations

from pathlib import Path

import pytest

from shardplan_schemas.events import UnitCompleted, UnitReused

from .helpers import read_events, run_in_process, tree_bytes
from .plan_factory import Layout, build_plan, make_lines

pytest.importorskip("distributed")

LAYOUTS = [
    Layout("context", chunk_size=5),
    Layout("translate", chunk_size=3, languages=("en", "fr")),
    Layout("export", languages=("en", "fr")),
]


def test_a_local_cluster_run_reuses_and_writes_the_bytes_of_a_fresh_run(tmp_path: Path) -> None:
    lines = make_lines(15)
    old = build_plan(tmp_path / "a", lines, LAYOUTS)
    assert run_in_process(old, "cutoff_handler", tmp_path / "old", fsync=False).code == 0
    edited = list(lines)
    edited[12] = lines[12].model_copy(update={"text": "An edited line."})
    new = build_plan(tmp_path / "b", edited, LAYOUTS)
    dask = run_in_process(
        new,
        "cutoff_handler",
        tmp_path / "dask",
        backend="dask",
        dask_processes=False,
        fsync=False,
        reuse=(tmp_path / "old",),
    )
    assert dask.code == 0, dask.console
    events = read_events(tmp_path / "dask")
    ran = sorted(e.unit_id for e in events if isinstance(e, UnitCompleted))
    reused = [e.unit_id for e in events if isinstance(e, UnitReused)]
    assert ran == [
        "context:line_11",
        "export.en:line_1",
        "export.fr:line_1",
        "translate.en:line_13",
        "translate.fr:line_13",
    ]
    assert len(reused) == 2 + 8
    fresh = run_in_process(new, "cutoff_handler", tmp_path / "fresh", fsync=False)
    assert fresh.code == 0
    assert tree_bytes(tmp_path / "dask") == tree_bytes(tmp_path / "fresh")
