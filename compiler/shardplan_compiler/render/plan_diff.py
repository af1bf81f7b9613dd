"""Render `shardplan diff` as text, JSON, or markdown ready for a pull request.

Counts come first (shards and units to rerun, per phase), then every dirty
shard with its reasons in words: "translate:scene_0012_0001 — line
scene_0012_0005 inserted". Shards dirty only because a fixed boundary moved
are counted rather than listed one by one past a few, with a word on
`boundaries: content`, which keeps them in place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import JsonValue

from shardplan_compiler.plan_diff import FieldChange, PhaseDiff, PlanDiff, Reason, ShardChange

MAX_LISTED_KEYS = 50
MAX_LISTED_MOVED = 5
MAX_NAMED_LINES = 3
_MARKS = {"changed": "~", "added": "+", "removed": "-"}
MAX_BARS_PER_PHASE = 8
"""Dirty shards drawn per phase in the markdown picture; nearby ones merge into one bar."""


@dataclass(frozen=True)
class DirtySpan:
    """A dirty shard's place for the markdown picture: its phase, status and lines."""

    phase: str
    status: str
    start: int
    end: int


def _value(value: JsonValue) -> str:
    if isinstance(value, str) and len(value) == 64:
        return value[:12] + "…"
    return json.dumps(value, ensure_ascii=False)


def _change(change: FieldChange) -> str:
    return f"{change.field}: {_value(change.old)} -> {_value(change.new)}"


def _lines(ids: tuple[str, ...] | None, code: str) -> str:
    ids = ids or ()
    shown = ", ".join(f"{code}{line}{code}" for line in ids[:MAX_NAMED_LINES])
    if len(ids) == 1:
        return f"line {shown}"
    more = f" and {len(ids) - MAX_NAMED_LINES} more" if len(ids) > MAX_NAMED_LINES else ""
    return f"{len(ids)} lines ({shown}{more})"


def describe_reason(reason: Reason, code: str = "") -> str:
    """One reason in words; `code` wraps names (a backtick in markdown)."""
    if reason.reason == "text_changed":
        return f"text of {_lines(reason.line_ids, code)} changed"
    if reason.reason == "lines_inserted":
        return f"{_lines(reason.line_ids, code)} inserted"
    if reason.reason == "lines_deleted":
        return f"{_lines(reason.line_ids, code)} deleted"
    if reason.reason == "boundary_moved":
        return "boundary moved"
    if reason.reason == "config_changed":
        fields = ", ".join(f"{code}{name}{code}" for name in reason.fields or ())
        return f"settings changed: {fields}"
    return "content changed (the sources are not at hand to name the lines)"


def describe_shard(shard: ShardChange, code: str = "") -> str:
    was = f" (was {code}{shard.old_key}{code})" if shard.old_key else ""
    reasons = "; ".join(describe_reason(reason, code) for reason in shard.reasons)
    return f"{code}{shard.key}{code}{was} — {reasons}"


def _rerun(phase: PhaseDiff) -> tuple[int, int]:
    """Shards and units of this phase that must run (changed and added; new languages)."""
    return len(phase.changed) + len(phase.added), phase.units_to_run


def _phase_head(phase: PhaseDiff) -> str:
    shards, units = _rerun(phase)
    if not phase.shards:
        head = f"{phase.phase}: no shard to rerun; {phase.unchanged} unchanged"
        if units:
            head += f" ({units} unit(s) to run in new languages)"
        return head + (f" (phase {phase.status})" if phase.status in ("added", "removed") else "")
    head = (
        f"{phase.phase}: {shards} shard(s) to rerun ({units} unit(s)): {len(phase.changed)} "
        f"changed, {len(phase.added)} added, {len(phase.removed)} removed; "
        f"{phase.unchanged} unchanged"
    )
    if phase.status in ("added", "removed"):
        head += f" (phase {phase.status})"
    return head


def _listed(phase: PhaseDiff) -> tuple[list[ShardChange], int]:
    """The shards to list, and how many moved-only ones are left out."""
    real = [shard for shard in phase.shards if not shard.moved_only]
    moved = [shard for shard in phase.shards if shard.moved_only]
    shown = real[:MAX_LISTED_KEYS] + moved[:MAX_LISTED_MOVED]
    return shown, len(phase.shards) - len(shown)


def _moved_note(phase: PhaseDiff, left: int) -> str | None:
    moved = sum(1 for shard in phase.shards if shard.moved_only)
    if not moved:
        return None
    text = f"{moved} of these shard(s) are dirty only because a boundary moved"
    settings = any(r.reason == "config_changed" for shard in phase.shards for r in shard.reasons)
    if phase.boundaries == "fixed" and not settings:
        text += (
            " (fixed boundaries shift every later shard when lines are inserted or deleted; "
            "`execution.boundaries: content` keeps them in place)"
        )
    if left:
        text += f"; {left} not listed"
    return text


def render_diff_json(diff: PlanDiff) -> str:
    return json.dumps(diff.as_json(), indent=2, ensure_ascii=False) + "\n"


def _totals_line(diff: PlanDiff) -> str:
    unchanged, changed, added, removed = diff.totals()
    units = sum(_rerun(phase)[1] for phase in diff.phases)
    return (
        f"shards: {unchanged} unchanged, {changed} changed, {added} added, {removed} removed; "
        f"{changed + added} shard(s), {units} unit(s) to rerun"
    )


def render_diff_text(diff: PlanDiff, old_name: str, new_name: str) -> str:
    if not diff.differs:
        return f"no differences: both plans are {diff.new_plan_id}\n"
    out = [
        f"--- {old_name} ({diff.old_plan_id})",
        f"+++ {new_name} ({diff.new_plan_id})",
        _totals_line(diff),
    ]
    if not diff.lines_known:
        out.append(
            "  (reasons cannot name lines: a plan's source is missing or changed since it "
            "was compiled)"
        )
    out += [f"  {_change(change)}" for change in diff.changes]
    for phase in diff.phases:
        out.append(_phase_head(phase))
        out += [f"  {_change(change)}" for change in phase.config]
        shown, left = _listed(phase)
        out += [f"  {_MARKS[shard.status]} {describe_shard(shard)}" for shard in shown]
        note = _moved_note(phase, left)
        if note is not None:
            out.append(f"  {note}")
        elif left:
            out.append(f"  … and {left} more")
    return "\n".join(out) + "\n"


def _md_change(change: FieldChange) -> str:
    return f"`{change.field}`: `{_value(change.old)}` → `{_value(change.new)}`"


_MERMAID_UNSAFE = re.compile(r"[^A-Za-z0-9_ .,()+-]")


def _bars(spans: Sequence[DirtySpan], line_count: int) -> list[tuple[str, int, int, int]]:
    """One phase's dirty spans as at most `MAX_BARS_PER_PHASE` bars: (status, start, end, count)."""
    ordered = sorted(spans, key=lambda s: (s.start, s.end))
    if len(ordered) <= MAX_BARS_PER_PHASE:
        return [(s.status, s.start, s.end, 1) for s in ordered]
    bars: list[tuple[str, int, int, int]] = []
    gap = 0
    while True:
        bars = []
        for span in ordered:
            if bars and span.start - bars[-1][2] <= gap:
                status, start, end, count = bars[-1]
                merged = status if status == span.status else "dirty"
                bars[-1] = (merged, start, max(end, span.end), count + 1)
            else:
                bars.append((span.status, span.start, span.end, 1))
        if len(bars) <= MAX_BARS_PER_PHASE:
            return bars
        gap = max(1, gap * 2, line_count // 100)  # merge spans ever farther apart


def _mermaid(dirty: Sequence[DirtySpan], line_count: int) -> list[str]:
    """A mermaid gantt chart (GitHub renders it in job summaries and pull requests) of where
    on the script the dirty shards are: one section per phase, the line number as the axis.
    Removed shards are drawn at their place in the old plan."""
    if not dirty or line_count <= 0:
        return []
    phases: dict[str, list[DirtySpan]] = {}
    for span in dirty:
        phases.setdefault(span.phase, []).append(span)
    tags = {"changed": "crit, ", "removed": "crit, ", "added": "active, ", "dirty": "crit, "}
    out = [
        "",
        "```mermaid",
        "gantt",
        "    title Dirty shards along the script (line numbers)",
        "    dateFormat X",
        "    axisFormat %s",
        "    section script",
        f"    {line_count} lines :done, 0, {line_count}",
    ]
    for phase, spans in phases.items():
        out.append(f"    section {_MERMAID_UNSAFE.sub('_', phase)}")
        for status, start, end, count in _bars(spans, line_count):
            what = status if count == 1 else f"{count} {status}"
            label = _MERMAID_UNSAFE.sub("_", f"{what} {start}-{end - 1}")
            out.append(f"    {label} :{tags.get(status, '')}{start}, {max(end, start + 1)}")
    out.append("```")
    return out


def render_diff_markdown(diff: PlanDiff, old_name: str, new_name: str, line_count: int = 0) -> str:
    """The diff for a pull request or a job summary, with a picture of where the dirty
    shards are on a script of `line_count` lines (default: up to the last dirty line)."""
    if not diff.differs:
        return f"### Shard plan diff\n\nNo differences: both plans are `{diff.new_plan_id}`.\n"
    unchanged, changed, added, removed = diff.totals()
    units = sum(_rerun(phase)[1] for phase in diff.phases)
    out = [
        "### Shard plan diff",
        "",
        f"`{old_name}` → `{new_name}`: **{changed + added} shard(s) to rerun ({units} unit(s))**: "
        f"{changed} changed, {added} added, {removed} removed, {unchanged} unchanged",
        "",
    ]
    if not diff.lines_known:
        out += [
            "_Reasons cannot name lines: a plan's source is missing or changed since it was "
            "compiled._",
            "",
        ]
    if diff.changes:
        out += ["**Inputs and run policy**", ""]
        out += [f"- {_md_change(change)}" for change in diff.changes]
        out.append("")
    out += [
        "| Phase | To rerun | Units | Unchanged | Changed | Added | Removed | Configuration |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for phase in diff.phases:
        config = "<br>".join(_md_change(change) for change in phase.config)
        if phase.status in ("added", "removed"):
            config = f"phase {phase.status}" + (f"<br>{config}" if config else "")
        shards, phase_units = _rerun(phase)
        out.append(
            f"| {phase.phase} | {shards} | {phase_units} | {phase.unchanged} "
            f"| {len(phase.changed)} | {len(phase.added)} | {len(phase.removed)} | {config} |"
        )
    dirty = [
        DirtySpan(phase.phase, shard.status, shard.start, shard.end)
        for phase in diff.phases
        for shard in phase.shards
    ]
    out += _mermaid(dirty, line_count or max((span.end for span in dirty), default=0))
    listed = [p for p in diff.phases if p.shards]
    if listed:
        out += ["", "<details><summary>Dirty shards and why</summary>", ""]
        for phase in listed:
            shown, left = _listed(phase)
            out.append(f"**{phase.phase}**")
            out.append("")
            out += [f"- {shard.status}: {describe_shard(shard, '`')}" for shard in shown]
            note = _moved_note(phase, left)
            if note is not None:
                out.append(f"- {note}")
            elif left:
                out.append(f"- … and {left} more")
            out.append("")
        out += ["</details>"]
    out.append("")
    out.append(f"<sub>{diff.old_plan_id} → {diff.new_plan_id}</sub>")
    return "\n".join(out) + "\n"
