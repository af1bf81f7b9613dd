"""`python -m bench.boundaries [LINES]`: content boundaries against the orjson floor.

Content boundaries hash every line id once (DESIGN §8), a cost compiling pays
per phase that uses them. This prints the best of three CPU times of
`content_cuts` over the ids of a generated script (chunk_size 10: hashing
every id, then cutting), and of the further phases that reuse the hashes (a
chunk phase, a scene phase over its runs), next to the best of three of parsing the same file
with orjson, the floor `docs/benchmarks.md` measures compile against.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from bench.data import write_script
from bench.orjson_floor import parse_all
from shardplan_compiler.boundaries import (
    content_cuts,
    content_cuts_of,
    content_run_starts,
    id_hashes,
)
from shardplan_compiler.sharding import Runs


def best_of(runs: int, work: Callable[[], object]) -> float:
    """The shortest CPU time of `runs` calls of `work`, in seconds.

    CPU time, not wall time: on a shared machine a process waiting for a core
    would count the wait, and both sides here run in this one process.
    """
    times: list[float] = []
    for _ in range(runs):
        started = time.process_time()
        work()
        times.append(time.process_time() - started)
    return min(times)


def measure(line_count: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "script.jsonl"
        write_script(path, line_count)
        floor = best_of(3, lambda: parse_all(str(path)))
        records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    ids: list[str] = [record["line_id"] for record in records]
    scenes = Runs.of([record["scene_id"] for record in records])
    chunk = best_of(3, lambda: content_cuts(ids, 10))
    hashes = id_hashes(ids)
    again = best_of(3, lambda: content_cuts_of(hashes, 25))
    scene = best_of(3, lambda: content_run_starts(scenes.starts, hashes, 2))
    return {
        "lines": len(ids),
        "orjson_s": floor,
        "chunk_s": chunk,
        "again_s": again,
        "scene_s": scene,
    }


def main(argv: list[str]) -> None:
    figures = measure(int(argv[0]) if argv else 1_000_000)
    print(
        f"{figures['lines']:,.0f} lines: orjson parse {figures['orjson_s']:.3f} s; "
        f"content boundaries, chunk_size 10: {figures['chunk_s']:.3f} s "
        f"({figures['chunk_s'] / figures['orjson_s']:.2f}x); "
        f"then per phase (ids hashed once a source): chunk_size 25 "
        f"{figures['again_s']:.3f} s, scene runs in batches of 2 {figures['scene_s']:.3f} s"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
