"""The mermaid picture `diff --format markdown` adds: where on the script the dirty shards are."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shardplan_compiler.diff_reasons import ShardChange
from shardplan_compiler.plan_diff import PhaseDiff, PlanDiff
from shardplan_compiler.render.plan_diff import (
    MAX_BARS_PER_PHASE,
    DirtySpan,
    _bars,
    render_diff_markdown,
)

spans = st.lists(
    st.tuples(
        st.sampled_from(["changed", "added", "removed"]), st.integers(0, 999), st.integers(1, 50)
    ),
    max_size=200,
).map(
    lambda items: [
        DirtySpan("translate", status, start, start + size) for status, start, size in items
    ]
)


@given(spans)
def test_bars_are_few_and_cover_every_dirty_shard(dirty: list[DirtySpan]) -> None:
    bars = _bars(dirty, 1000)
    assert len(bars) <= MAX_BARS_PER_PHASE
    assert sum(count for *_, count in bars) == len(dirty)
    for span in dirty:
        assert any(start <= span.start and span.end <= end for _, start, end, _ in bars)
    if len(dirty) <= MAX_BARS_PER_PHASE:
        assert all(count == 1 for *_, count in bars)


def test_the_picture_is_a_mermaid_gantt_on_the_line_axis() -> None:
    shards = [
        ShardChange("qa:a_1", None, "changed", (), 10, 20),
        ShardChange("qa:b_1", None, "added", (), 20, 25),
    ]
    phase = PhaseDiff("qa", "modified", 3, ["qa:a_1"], ["qa:b_1"], shards=shards)
    diff = PlanDiff("sha256:" + "0" * 64, "sha256:" + "1" * 64, [], [phase])
    text = render_diff_markdown(diff, "old.json", "new.json", 100)
    picture = text[text.index("```mermaid") :]
    picture = picture[: picture.index("```\n", 3) + 3]
    assert picture.splitlines() == [
        "```mermaid",
        "gantt",
        "    title Dirty shards along the script (line numbers)",
        "    dateFormat X",
        "    axisFormat %s",
        "    section script",
        "    100 lines :done, 0, 100",
        "    section qa",
        "    changed 10-19 :crit, 10, 20",
        "    added 20-24 :active, 20, 25",
        "```",
    ]
    same = PlanDiff("sha256:" + "0" * 64, "sha256:" + "1" * 64, [], [])
    assert "```mermaid" not in render_diff_markdown(same, "old.json", "new.json", 100)
