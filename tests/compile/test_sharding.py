"""Sharding (DESIGN §4) against a plain reference implementation, for random inputs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shardplan_compiler.sharding import (
    Runs,
    lines_without_key,
    shard_slices,
    size_stats,
    split_groups,
)
from shardplan_schemas.primitives import Strategy

KEYS = st.one_of(st.none(), st.sampled_from(["scene_1", "scene_2", "scene_3", "route_1"]))


def reference(
    strategy: Strategy, size: int | None, keys_scene: list[str | None], keys_route: list[str | None]
) -> list[tuple[int, int]]:
    """The obvious implementation: walk the lines one by one."""
    n = len(keys_scene)
    if n == 0:
        return []
    if strategy == "full":
        return [(0, n)]
    if strategy == "chunk":
        assert size is not None
        return [(start, min(start + size, n)) for start in range(0, n, size)]
    keys = keys_scene if strategy == "scene" else keys_route
    runs: list[tuple[int, int]] = []
    for index in range(n):
        if index > 0 and keys[index] == keys[index - 1]:
            runs[-1] = (runs[-1][0], index + 1)
        else:
            runs.append((index, index + 1))
    batch = size or 1
    return [
        (runs[i][0], runs[min(i + batch, len(runs)) - 1][1]) for i in range(0, len(runs), batch)
    ]


@st.composite
def inputs(draw: st.DrawFn) -> tuple[Strategy, int | None, list[str | None], list[str | None]]:
    n = draw(st.integers(min_value=0, max_value=60))
    scenes = draw(st.lists(KEYS, min_size=n, max_size=n))
    routes = draw(st.lists(KEYS, min_size=n, max_size=n))
    strategy: Strategy = draw(st.sampled_from(["full", "chunk", "scene", "route"]))
    size = draw(st.integers(min_value=1, max_value=12))
    if strategy == "full":
        return strategy, None, scenes, routes
    if strategy == "chunk":
        return strategy, size, scenes, routes
    return strategy, draw(st.one_of(st.none(), st.just(size))), scenes, routes


def runs_in_blocks(keys: list[str | None], cut: int) -> Runs:
    """Runs built block by block, as the reader does (a run may straddle blocks)."""
    runs = Runs()
    for start in range(0, len(keys), cut):
        runs.extend(start, keys[start : start + cut])
    return runs


@settings(max_examples=300, deadline=None)
@given(inputs(), st.integers(min_value=1, max_value=7))
def test_shards_partition_lines_and_match_reference(
    case: tuple[Strategy, int | None, list[str | None], list[str | None]], cut: int
) -> None:
    strategy, size, scenes, routes = case
    n = len(scenes)
    got = shard_slices(strategy, size, n, runs_in_blocks(scenes, cut), runs_in_blocks(routes, cut))
    assert got == reference(strategy, size, scenes, routes)
    # A partition of all lines into contiguous, ordered, non-empty slices.
    position = 0
    for start, end in got:
        assert start == position
        assert end > start
        position = end
    assert position == n


@given(st.lists(KEYS, max_size=40))
def test_split_groups_and_missing_lines(keys: list[str | None]) -> None:
    runs = Runs.of(keys)
    n = len(keys)
    for split in split_groups(runs, n):
        assert len(split.runs) >= 2
        for start, end in split.runs:
            assert all(keys[i] == split.key for i in range(start, end))
    missing = {i for start, end in lines_without_key(runs, n) for i in range(start, end)}
    assert missing == {i for i, key in enumerate(keys) if key is None}


def test_no_lines_no_shards() -> None:
    strategies: tuple[Strategy, ...] = ("full", "chunk", "scene", "route")
    for strategy in strategies:
        assert shard_slices(strategy, 3, 0, Runs(), Runs()) == []


def test_size_stats_skew() -> None:
    stats = size_stats([2, 2, 2, 16, 2])
    assert (stats.minimum, stats.median, stats.maximum) == (2, 2.0, 16)
    assert stats.skew == 8.0
    assert size_stats([]).skew == 1.0
