"""Sharding semantics (DESIGN §4) as pure functions over plain sequences.

Lines keep their input order and every shard is a contiguous slice
`[start, end)` of it, so a phase's sharding is fully described by the start
index of each shard. The functions here know nothing of files, YAML or
diagnostics: the plan builder feeds them the runs the source reader found and
turns what they return into shards and warnings.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress, islice
from operator import ne

from shardplan_compiler.boundaries import content_cuts_of, content_run_starts
from shardplan_schemas.primitives import Boundaries, Strategy


@dataclass
class Runs:
    """Maximal runs of consecutive lines with the same key (a scene or route id, or None).

    Run `i` covers lines `[starts[i], starts[i + 1])`, the last one up to the
    line count. Sharding and its warnings only need runs, so the source
    reader never keeps a key per line.
    """

    starts: list[int] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)

    def extend(self, offset: int, keys: Sequence[object], breaks: list[int] | None = None) -> None:
        """Append the runs of `keys`, whose first line has index `offset`.

        The first run of `keys` continues the last run so far when it has the
        same key and starts right where the lines so far end. `breaks` are
        `run_breaks(keys)` when the caller has them already.
        """
        if not keys:
            return
        if breaks is None:
            breaks = run_breaks(keys)
        first = keys[0]
        if not (self.keys and self.keys[-1] == first):
            self.starts.append(offset)
            self.keys.append(first)  # type: ignore[arg-type]  # the reader checked the ids
        if breaks:
            self.starts.extend(map(offset.__add__, breaks))
            self.keys.extend(map(keys.__getitem__, breaks))  # type: ignore[arg-type]

    def append_runs(self, offset: int, runs: Runs) -> None:
        """Append `runs`, whose lines start at index `offset`, continuing the last run if it goes on."""
        for index, (start, key) in enumerate(zip(runs.starts, runs.keys, strict=True)):
            if index == 0 and self.keys and self.keys[-1] == key and start == 0:
                continue  # the run goes on across the join
            self.starts.append(start + offset)
            self.keys.append(key)

    @classmethod
    def of(cls, keys: Sequence[str | None]) -> Runs:
        runs = cls()
        runs.extend(0, keys)
        return runs

    def end_of(self, index: int, line_count: int) -> int:
        """Index one past the last line of run `index`."""
        return self.starts[index + 1] if index + 1 < len(self.starts) else line_count


def run_breaks(keys: Sequence[object]) -> list[int]:
    """Indexes `i` where `keys[i]` differs from `keys[i - 1]`: where a new run starts.

    Two C-level passes (compare neighbours, keep the indexes where they
    differ), as the source reader calls this for every block of lines; one
    (`count`) when the first and last keys agree, as they do in most blocks
    of a route, which spans thousands of lines.
    """
    if not keys or (keys[0] == keys[-1] and keys.count(keys[0]) == len(keys)):
        return []
    return list(compress(range(1, len(keys)), map(ne, keys, islice(keys, 1, None))))


def shard_starts(
    strategy: Strategy,
    size: int | None,
    line_count: int,
    scene_runs: Runs,
    route_runs: Runs,
    boundaries: Boundaries = "fixed",
    line_hashes: Sequence[int] = (),
) -> list[int]:
    """Start index of every shard of a phase; shard `i` ends where shard `i + 1` starts.

    - `full`: one shard with every line.
    - `chunk`: `size` lines a shard, the last one possibly shorter.
    - `scene` / `route`: `size` consecutive runs a shard (default 1); lines
      without an id form runs of their own. (`route` with such lines is an
      error the caller reports before sharding; see `lines_without_key`.)
    - no lines: no shards, whatever the strategy.

    With `boundaries="content"` (DESIGN §8), `chunk` and `scene`/`route` cut
    the same lines or runs where their ids say instead (see `boundaries`),
    `size` on average; that needs the `line_hashes` (`boundaries.id_hashes`). (`full` with content
    boundaries is a spec error, SP312; it stays one shard here.)
    """
    if line_count == 0:
        return []
    if strategy == "full":
        return [0]
    content = boundaries == "content"
    if content and len(line_hashes) != line_count:
        raise ValueError("content boundaries need the hash of every line id")
    if strategy == "chunk":
        if size is None:
            raise ValueError("the chunk strategy needs a chunk size")
        if content:
            return content_cuts_of(line_hashes, size)
        return list(range(0, line_count, size))
    runs = scene_runs if strategy == "scene" else route_runs
    if content:
        return content_run_starts(runs.starts, line_hashes, size or 1)
    return runs.starts[:: size or 1]


def shard_slices(
    strategy: Strategy,
    size: int | None,
    line_count: int,
    scene_runs: Runs,
    route_runs: Runs,
    boundaries: Boundaries = "fixed",
    line_hashes: Sequence[int] = (),
) -> list[tuple[int, int]]:
    """The shards of a phase as `(start, end)` pairs (see `shard_starts`)."""
    starts = shard_starts(
        strategy, size, line_count, scene_runs, route_runs, boundaries, line_hashes
    )
    return list(zip(starts, shard_ends(starts, line_count), strict=True))


def shard_ends(starts: Sequence[int], line_count: int) -> list[int]:
    """The end index of each shard given its start indexes."""
    return [*starts[1:], line_count] if starts else []


def group_count(strategy: Strategy, line_count: int, scene_runs: Runs, route_runs: Runs) -> int:
    """How many groups a batch size counts: lines for `chunk`, runs for `scene`/`route`."""
    if strategy == "chunk":
        return line_count
    if strategy == "scene":
        return len(scene_runs.starts)
    if strategy == "route":
        return len(route_runs.starts)
    return 1 if line_count else 0


@dataclass(frozen=True)
class SplitGroup:
    """A scene or route id that appears in more than one run."""

    key: str
    runs: list[tuple[int, int]]  # (start, end) of each run, in order


def split_groups(runs: Runs, line_count: int) -> list[SplitGroup]:
    """Ids that appear in separate runs, each becoming separate groups; in order of first run."""
    if len(set(runs.keys)) == len(runs.keys):
        return []  # no key repeats (nor None): the usual case, decided in C
    where: dict[str, list[int]] = {}
    for index, key in enumerate(runs.keys):
        if key is not None:
            where.setdefault(key, []).append(index)
    return [
        SplitGroup(key, [(runs.starts[i], runs.end_of(i, line_count)) for i in indexes])
        for key, indexes in where.items()
        if len(indexes) > 1
    ]


def lines_without_key(runs: Runs, line_count: int) -> list[tuple[int, int]]:
    """`(start, end)` of every run of lines that have no id."""
    return [
        (runs.starts[i], runs.end_of(i, line_count))
        for i, key in enumerate(runs.keys)
        if key is None
    ]


@dataclass(frozen=True)
class ShardSizeStats:
    """Lines per shard of one phase: what `show` prints and the skew warning checks."""

    count: int
    minimum: int
    median: float
    maximum: int

    @property
    def skew(self) -> float:
        """Largest shard over the median shard (1.0 when there is at most one shard)."""
        if self.count == 0 or self.median == 0:
            return 1.0
        return self.maximum / self.median


HEAVY_SKEW = 4.0


def size_stats(line_counts: Sequence[int]) -> ShardSizeStats:
    if not line_counts:
        return ShardSizeStats(0, 0, 0.0, 0)
    return ShardSizeStats(
        len(line_counts), min(line_counts), float(statistics.median(line_counts)), max(line_counts)
    )
