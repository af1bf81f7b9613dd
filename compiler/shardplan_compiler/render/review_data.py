"""The data behind the review page (DESIGN §10): compact, so 100,000 shards stay light.

The page draws every shard of every phase on a canvas, so it needs per shard
only its range, its key and (when the source is at hand) its last line id —
not a DOM node. Ranges are delta-encoded (the first start, then each shard's
length; a gap or overlap in a forged plan gets an explicit restart), and ids
are front-coded against the id before them (one character saying how many
leading characters are shared, then the rest): neighbouring ids share most
of their characters, so 425,000 keys cost a few bytes each.

Scenes and routes are not listed per shard: the page gets the source's runs
once (delta-encoded starts, front-coded ids) and finds a shard's scenes by
binary search.

The line ids, scenes and routes come from the source the plan names, read
only when it exists and its sha256 matches the plan; otherwise the page
shows keys and ranges only, and says why.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import JsonValue

from shardplan_compiler.diff_reasons import Reason
from shardplan_compiler.file_checks import unreadable_reason
from shardplan_compiler.plan_diff import PhaseDiff, PlanDiff
from shardplan_compiler.plan_io import PlanError
from shardplan_compiler.plan_summary import resolve_recorded
from shardplan_compiler.sharding import Runs
from shardplan_compiler.sources import SourceTable, read_source
from shardplan_schemas.diagnostics import Diagnostic
from shardplan_schemas.plan import PlanPhase, Shard, ShardPlan
from shardplan_schemas.plan_structure import key_problem
from shardplan_schemas.primitives import PHASE_ORDER

PAGE_DATA_VERSION = 1
FRONT_BASE = 0x30
"""The shared-prefix length n is written as chr(FRONT_BASE + n)."""
MAX_FRONT = 0xFFFF - FRONT_BASE
MAX_DETAILED_DIRTY = 20_000
"""Dirty shards past this many keep their status colour but no reasons (bounded page size)."""
MAX_REASON_IDS = 8
MAX_LINE_TEXTS = 3
"""Changed lines whose text is shown per reason, for the first `MAX_TEXT_SHARDS` dirty shards."""
MAX_TEXT_SHARDS = 200
MAX_TEXT_CHARS = 160


def front_code(values: Iterable[str]) -> list[str]:
    """Each value as chr(FRONT_BASE + shared prefix with the previous value) + the rest."""
    out: list[str] = []
    previous = ""
    for value in values:
        # The shared prefix by binary search on slices (compared in C): a few steps per id
        # instead of a Python step per character.
        low, high = 0, min(len(previous), len(value), MAX_FRONT)
        while low < high:
            middle = (low + high + 1) // 2
            if previous[:middle] == value[:middle]:
                low = middle
            else:
                high = middle - 1
        out.append(chr(FRONT_BASE + low) + value[low:])
        previous = value
    return out


def front_decode(coded: Iterable[str]) -> list[str]:
    """The inverse of `front_code` (the page's script does the same)."""
    out: list[str] = []
    previous = ""
    for item in coded:
        value = previous[: ord(item[0]) - FRONT_BASE] + item[1:]
        out.append(value)
        previous = value
    return out


def delta_ranges(ranges: Sequence[tuple[int, int]]) -> list[int]:
    """`[start0, len0, len1, …]`; a shard not starting where the last ended is `-1-start, len`.

    Compiled plans partition the lines, so the restart never appears in them;
    it keeps a forged plan's ranges drawn as written.
    """
    out: list[int] = []
    at: int | None = None
    for start, end in ranges:
        if at is None:
            out.append(start)
        elif start != at:
            out.append(-1 - start)
        out.append(end - start)
        at = end
    return out


def delta_decode(values: Sequence[int]) -> list[tuple[int, int]]:
    """The inverse of `delta_ranges`."""
    ranges: list[tuple[int, int]] = []
    if not values:
        return ranges
    at = values[0]
    index = 1
    while index < len(values):
        value = values[index]
        if value < 0:
            at = -1 - value
            index += 1
            value = values[index]
        ranges.append((at, at + value))
        at += value
        index += 1
    return ranges


@dataclass
class LoadedSource:
    """A plan's source as the page can use it, or the reason it cannot."""

    table: SourceTable | None
    note: str | None


def load_plan_source(
    plan: ShardPlan,
    plan_dir: Path,
    label: str,
    plan_path: Path | None = None,
    table: SourceTable | None = None,
) -> LoadedSource:
    """The plan's source when it exists and matches the plan's sha256; else a note saying why.

    `table` is the source when the caller has read and checked it already (diff does).
    A source that matches but whose line ids do not fit the plan's keys means a forged
    plan: that raises `PlanError` (SP606), as `diff` and `run` refuse it.
    """
    if table is not None:
        return LoadedSource(table, None)
    path = resolve_recorded(plan_dir, plan.source.path)
    shown = path.as_posix()
    if unreadable_reason(path) is not None:
        return LoadedSource(
            None,
            f"{label}source {shown} is not at hand: keys and line ranges only, "
            "no line ids, scenes or routes",
        )
    result = read_source(path, plan.source.format)
    if result.table is None or any(d.severity == "error" for d in result.diagnostics):
        return LoadedSource(
            None, f"{label}source {shown} cannot be read: keys and line ranges only"
        )
    if result.table.sha256 != plan.source.sha256:
        return LoadedSource(
            None,
            f"{label}source {shown} changed since the plan was compiled (sha256 "
            f"{result.table.sha256[:12]}, the plan has {plan.source.sha256[:12]}): "
            "keys and line ranges only",
        )
    problem = key_problem(plan, result.table.line_ids)
    if problem is not None:
        raise PlanError(
            Diagnostic(
                path=(plan_path or plan_dir / "plan").as_posix(),
                line=1,
                column=1,
                severity="error",
                code="SP606",
                message=f"the plan does not match its source {shown}: {problem}; "
                "recompile the plan from its spec and source",
                pointer="",
            )
        )
    return LoadedSource(result.table, None)


def _runs(runs: Runs) -> dict[str, JsonValue]:
    starts = runs.starts
    deltas = [starts[0]] + [b - a for a, b in itertools.pairwise(starts)] if starts else []
    return {"d": list(deltas), "k": list(front_code(key or "" for key in runs.keys))}


Span = tuple[str, int, int]
"""A shard as the page needs it: key, start, end."""


def _spans(shards: Sequence[Shard]) -> list[Span]:
    return [(s.key, s.start, s.end) for s in shards]


def _shard_lane(
    spans: Sequence[Span], table: SourceTable | None, statuses: str | None
) -> dict[str, JsonValue]:
    """One lane of shards: ranges, keys, last line ids, and (diff) one status letter each."""
    lane: dict[str, JsonValue] = {
        "n": len(spans),
        "d": list(delta_ranges([(start, end) for _, start, end in spans])),
        "k": list(front_code(key for key, _, _ in spans)),
    }
    if table is not None and all(0 <= start < end <= len(table) for _, start, end in spans):
        ids = table.line_ids
        lane["l"] = list(front_code(ids[end - 1] for _, _, end in spans))
        # The key names the first line; a plan whose key does not is shown with the real id.
        wrong: list[JsonValue] = [
            [i, ids[start]]
            for i, (key, start, _) in enumerate(spans)
            if key.partition(":")[2] != ids[start]
        ]
        if wrong:
            lane["f"] = wrong
    if statuses is not None:
        lane["s"] = statuses
    return lane


def _median(shards: Sequence[Shard]) -> float:
    return float(statistics.median(s.end - s.start for s in shards)) if shards else 0.0


def _phase_head(phase: PlanPhase) -> dict[str, JsonValue]:
    execution = phase.execution
    sizes = [
        f"{name}={value}"
        for name, value in (
            ("chunk_size", execution.chunk_size),
            ("scene_batch_size", execution.scene_batch_size),
            ("route_batch_size", execution.route_batch_size),
        )
        if value is not None
    ]
    if execution.boundaries != "fixed":
        sizes.append(f"boundaries={execution.boundaries}")
    return {
        "phase": phase.phase,
        "enabled": phase.enabled,
        "strategy": execution.strategy,
        "sizes": ", ".join(sizes),
        "cap": execution.max_parallel_agents,
        "languages": list(phase.target_languages) if phase.target_languages is not None else None,
        "agents": list(phase.agents),
    }


def _units(plan: ShardPlan) -> int:
    return sum(
        p.shard_count * (len(p.target_languages) if p.target_languages is not None else 1)
        for p in plan.phases
        if p.enabled
    )


def _plan_head(plan: ShardPlan, plan_dir: Path) -> dict[str, JsonValue]:
    return {
        "plan_id": plan.plan_id,
        "format": plan.format,
        "generator": f"{plan.generator.name} {plan.generator.version}",
        "spec": resolve_recorded(plan_dir, plan.spec.path).as_posix(),
        "source": resolve_recorded(plan_dir, plan.source.path).as_posix(),
        "source_format": plan.source.format,
        "line_count": plan.source.line_count,
        "units": _units(plan),
        "shards": sum(p.shard_count for p in plan.phases),
    }


def _source_parts(table: SourceTable | None) -> dict[str, JsonValue]:
    if table is None:
        return {}
    return {"scenes": _runs(table.scene_runs), "routes": _runs(table.route_runs)}


def show_data(
    plan: ShardPlan, plan_dir: Path, plan_path: Path | None = None
) -> dict[str, JsonValue]:
    """What `show --format html` draws: the plan's header and one lane of shards per phase."""
    source = load_plan_source(plan, plan_dir, "", plan_path)
    phases: list[JsonValue] = []
    for phase in plan.phases:
        phases.append(
            {
                **_phase_head(phase),
                "median": _median(phase.shards),
                "lanes": [_shard_lane(_spans(phase.shards), source.table, None)],
            }
        )
    return {
        "v": PAGE_DATA_VERSION,
        "kind": "show",
        "plan": _plan_head(plan, plan_dir),
        "axis": plan.source.line_count,
        "notes": [source.note] if source.note else [],
        "phases": phases,
        **_source_parts(source.table),
    }


# -- diff ------------------------------------------------------------------------------------------


@dataclass
class DirtyShard:
    """One dirty shard as the page shows it (a `ShardChange`, or derived from the key lists)."""

    phase: str
    key: str
    old_key: str | None
    status: str
    start: int
    end: int
    reasons: list[dict[str, JsonValue]] = field(default_factory=list)
    lane: int = 0
    index: int = -1


def _reason_json(reason: Reason) -> dict[str, JsonValue]:
    out: dict[str, JsonValue] = {"reason": reason.reason}
    if reason.line_ids is not None:
        out["line_ids"] = list(reason.line_ids[:MAX_REASON_IDS])
        if len(reason.line_ids) > MAX_REASON_IDS:
            out["more_ids"] = len(reason.line_ids) - MAX_REASON_IDS
    if reason.fields is not None:
        out["fields"] = list(reason.fields)
    return out


def dirty_shards(phase_diff: PhaseDiff) -> list[DirtyShard]:
    """A phase's dirty shards as `diff` found them (DESIGN §8), with their reasons."""
    return [
        DirtyShard(
            phase=phase_diff.phase,
            key=change.key,
            old_key=change.old_key,
            status=change.status,
            start=change.start,
            end=change.end,
            reasons=[_reason_json(reason) for reason in change.reasons],
        )
        for change in phase_diff.shards
    ]


_STATUS_LETTER = {"changed": "c", "added": "a", "removed": "r"}


def _line_texts(
    table: SourceTable | None, path: Path | None, fmt: str, wanted: set[str]
) -> dict[str, str]:
    """The text (with its speaker) of the wanted line ids, read in one streaming pass."""
    if table is None or path is None or not wanted:
        return {}
    from shardplan_schemas.source_formats import RecordProblem, iter_source_records

    texts: dict[str, str] = {}
    try:
        with path.open("rb") as stream:
            for item in iter_source_records(stream, fmt):  # type: ignore[arg-type]
                if isinstance(item, RecordProblem):
                    continue
                record = item[1]
                if not isinstance(record, dict):
                    continue
                line_id = record.get("line_id")
                if isinstance(line_id, str) and line_id in wanted:
                    text = record.get("text")
                    speaker = record.get("speaker")
                    shown = (
                        f"{speaker}: {text}" if isinstance(speaker, str) and speaker else str(text)
                    )
                    texts[line_id] = shown[:MAX_TEXT_CHARS] + (
                        "…" if len(shown) > MAX_TEXT_CHARS else ""
                    )
                    if len(texts) == len(wanted):
                        break
    except (OSError, ValueError):
        return texts
    return texts


def _attach_texts(
    dirty: list[DirtyShard],
    old_source: LoadedSource,
    new_source: LoadedSource,
    old_path: Path,
    new_path: Path,
    old_format: str,
    new_format: str,
) -> None:
    """Give the first dirty shards' text reasons the changed lines' text, old and new."""
    want_old: set[str] = set()
    want_new: set[str] = set()
    chosen = [d for d in dirty if d.reasons][:MAX_TEXT_SHARDS]
    for item in chosen:
        for reason in item.reasons:
            ids = reason.get("line_ids")
            if not isinstance(ids, list):
                continue
            picked = {str(i) for i in ids[:MAX_LINE_TEXTS]}
            kind = reason.get("reason")
            if kind in ("text_changed", "lines_deleted"):
                want_old |= picked
            if kind in ("text_changed", "lines_inserted"):
                want_new |= picked
    old_texts = _line_texts(old_source.table, old_path, old_format, want_old)
    new_texts = _line_texts(new_source.table, new_path, new_format, want_new)
    for item in chosen:
        for reason in item.reasons:
            ids = reason.get("line_ids")
            if not isinstance(ids, list):
                continue
            lines: list[JsonValue] = []
            for line_id in ids[:MAX_LINE_TEXTS]:
                entry: dict[str, JsonValue] = {"id": str(line_id)}
                if str(line_id) in old_texts:
                    entry["old"] = old_texts[str(line_id)]
                if str(line_id) in new_texts:
                    entry["new"] = new_texts[str(line_id)]
                if len(entry) > 1:
                    lines.append(entry)
            if lines:
                reason["lines"] = lines


def diff_data(
    old: ShardPlan,
    new: ShardPlan,
    diff: PlanDiff,
    old_dir: Path,
    new_dir: Path,
    tables: tuple[SourceTable | None, SourceTable | None] = (None, None),
) -> tuple[dict[str, JsonValue], list[DirtyShard]]:
    """What `diff --format html` draws, and the dirty shards it lists as text.

    Per phase, lane 0 is the new plan's shards, each with a status letter
    (`u`nchanged, `c`hanged, `a`dded); lane 1, when there is any, the removed
    shards at their place in the old plan.
    """
    old_source = load_plan_source(old, old_dir, "old plan's ", table=tables[0])
    new_source = load_plan_source(new, new_dir, "new plan's ", table=tables[1])
    old_phases = {p.phase: p for p in old.phases}
    new_phases = {p.phase: p for p in new.phases}
    phases: list[JsonValue] = []
    all_dirty: list[DirtyShard] = []
    diffs = {d.phase: d for d in diff.phases}
    for name in PHASE_ORDER:
        phase_diff = diffs.get(name)
        if phase_diff is None:
            continue
        old_phase = old_phases.get(name)
        new_phase = new_phases.get(name)
        shown = new_phase if new_phase is not None else old_phase
        assert shown is not None
        dirty = dirty_shards(phase_diff)
        new_shards = new_phase.shards if new_phase is not None else []
        position = {s.key: i for i, s in enumerate(new_shards)}
        letters = bytearray(b"u" * len(new_shards))
        removed: list[Span] = []
        for item in dirty:
            if item.status == "removed":
                item.lane = 1
                item.index = len(removed)
                removed.append((item.key, item.start, item.end))
            else:
                item.index = position.get(item.key, -1)
                if item.index >= 0:
                    letters[item.index] = ord(_STATUS_LETTER.get(item.status, "c"))
        lanes: list[JsonValue] = [
            _shard_lane(_spans(new_shards), new_source.table, letters.decode())
        ]
        if removed:
            lanes.append(_shard_lane(removed, old_source.table, "r" * len(removed)))
        counts = {
            "unchanged": phase_diff.unchanged,
            "changed": len(phase_diff.changed),
            "added": len(phase_diff.added),
            "removed": len(phase_diff.removed),
        }
        phases.append(
            {
                **_phase_head(shown),
                "median": _median(new_shards),
                "status": phase_diff.status,
                "counts": dict(counts),
                "config": [
                    f"{c.field}: {_short(c.old)} → {_short(c.new)}" for c in phase_diff.config
                ],
                "lanes": lanes,
            }
        )
        all_dirty.extend(dirty)
    _attach_texts(
        all_dirty,
        old_source,
        new_source,
        resolve_recorded(old_dir, old.source.path),
        resolve_recorded(new_dir, new.source.path),
        old.source.format,
        new.source.format,
    )
    phase_index = {name: i for i, name in enumerate(d.phase for d in diff.phases)}
    detailed: list[JsonValue] = [
        {
            "p": phase_index[d.phase],
            "lane": d.lane,
            "i": d.index,
            "key": d.key,
            **({"old_key": d.old_key} if d.old_key else {}),
            "status": d.status,
            "reasons": list(d.reasons),
        }
        for d in all_dirty[:MAX_DETAILED_DIRTY]
    ]
    unchanged, changed, added, removed_total = diff.totals()
    notes = [n for n in (old_source.note, new_source.note) if n]
    data: dict[str, JsonValue] = {
        "v": PAGE_DATA_VERSION,
        "kind": "diff",
        "plan": _plan_head(new, new_dir),
        "old": _plan_head(old, old_dir),
        "axis": max(new.source.line_count, old.source.line_count),
        "notes": list(notes),
        "changes": [f"{c.field}: {_short(c.old)} → {_short(c.new)}" for c in diff.changes],
        "totals": {
            "unchanged": unchanged,
            "changed": changed,
            "added": added,
            "removed": removed_total,
        },
        "phases": phases,
        "dirty": detailed,
        "dirty_total": len(all_dirty),
        **_source_parts(new_source.table),
    }
    return data, all_dirty


def _short(value: JsonValue) -> str:
    import json

    if isinstance(value, str) and len(value) == 64:
        return value[:12] + "…"
    return json.dumps(value, ensure_ascii=False)
