"""With a deterministic handler, a run with `--reuse` writes exactly what a fresh run writes.

Over random scripts, random edits (lines inserted, deleted, rewritten) and
random shard sizes: run the old plan, then the edited plan twice — once
reusing the old run, once fresh — and compare every output file and export
byte for byte. `cutoff_handler` puts a digest of each unit's whole `inputs`
in its records, so a unit wrongly reused after an upstream change shows up
in the bytes; its context records ignore the text, so early cutoff happens.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shardplan_schemas.events import UnitCompleted, UnitReused
from shardplan_schemas.source import SourceLine

from .helpers import read_events, run_in_process, tree_bytes
from .plan_factory import Layout, build_plan, make_lines

Edit = tuple[str, int]


def _apply(lines: list[SourceLine], edits: list[Edit]) -> list[SourceLine]:
    edited = list(lines)
    for number, (kind, at) in enumerate(edits):
        index = at % len(edited)
        if kind == "insert":
            neighbour = edited[index]
            edited.insert(
                index,
                neighbour.model_copy(
                    update={"line_id": f"inserted_{number}", "text": f"Inserted {number}."}
                ),
            )
        elif kind == "delete" and len(edited) > 1:
            del edited[index]
        else:
            edited[index] = edited[index].model_copy(update={"text": f"Rewritten {number}."})
    return edited


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    count=st.integers(1, 24),
    sizes=st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 8)),
    edits=st.lists(
        st.tuples(st.sampled_from(["insert", "delete", "edit"]), st.integers(0, 1000)),
        min_size=0,
        max_size=4,
    ),
)
def test_a_run_with_reuse_writes_the_bytes_of_a_fresh_run(
    count: int, sizes: tuple[int, int, int], edits: list[Edit]
) -> None:
    layouts = [
        Layout("context", chunk_size=sizes[0]),
        Layout("translate", chunk_size=sizes[1], languages=("en", "fr")),
        Layout("qa", chunk_size=sizes[2], languages=("en", "fr")),
        Layout("export", languages=("en", "fr")),
    ]
    lines = make_lines(count, scenes_of=3)
    with tempfile.TemporaryDirectory(prefix="shardplan-reuse-") as work:
        root = Path(work)
        old = build_plan(root / "old", lines, layouts)
        assert run_in_process(old, "cutoff_handler", root / "old.run", fsync=False).code == 0
        new = build_plan(root / "new", _apply(lines, edits), layouts)
        reused = run_in_process(
            new, "cutoff_handler", root / "reused.run", fsync=False, reuse=(root / "old.run",)
        )
        assert reused.code == 0, reused.console
        fresh = run_in_process(new, "cutoff_handler", root / "fresh.run", fsync=False)
        assert fresh.code == 0, fresh.console
        assert tree_bytes(root / "reused.run") == tree_bytes(root / "fresh.run")
        events = read_events(root / "reused.run")
        done = [e.unit_id for e in events if isinstance(e, UnitCompleted | UnitReused)]
        assert (
            len(done)
            == len(set(done))
            == len([e for e in read_events(root / "fresh.run") if isinstance(e, UnitCompleted)])
        )
        if not edits:
            assert all(
                isinstance(e, UnitReused)
                for e in events
                if isinstance(e, UnitCompleted | UnitReused)
            )
