"""Incremental reruns (issue 9): what one inserted line costs, with content and fixed boundaries.

A script on rentl's default sharding (chunks of 10 for the LLM phases, one
scene per context shard, two languages), compiled once with every chunk phase
on `boundaries: content` and once on `fixed`. Then, for a few random
positions, one line is inserted and the edited script compiled again. Per
edit it reports:

- the units `diff` says must run (per phase, median and max over the edits),
  as a share of the plan's units: the target is at most 1 % with content
  boundaries; with fixed ones every chunk after the insert moves;
- `diff` with reasons (both sources read) against a plain `diff` (sources
  not at hand, so shards are matched by key), paired in one run: at most 2x;
- where `run --reuse` exists: the units the handler actually ran in a run of
  the edited plan reusing a finished run of the original, and that run's time
  against a fresh run of the edited plan.
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.context import BenchContext
from bench.data import write_script
from bench.harness import Command, Row, run_once

SPEC = """\
version: 1
project: bench-rerun
source:
  path: script.jsonl
  format: jsonl
languages:
  source_language: ja
  target_languages: [en, fr]
phases:
  - phase: ingest
  - phase: context
    agents: [scene_summarizer]
  - phase: pretranslation
    agents: [idiom_labeler]
    execution: {{strategy: chunk, chunk_size: 10, boundaries: {boundaries}}}
  - phase: translate
    agents: [direct_translator]
    execution: {{strategy: chunk, chunk_size: 10, boundaries: {boundaries}}}
  - phase: qa
    agents: [style_guide_critic]
    execution: {{strategy: chunk, chunk_size: 10, boundaries: {boundaries}}}
  - phase: edit
    agents: [basic_editor]
    execution: {{strategy: chunk, chunk_size: 10, boundaries: {boundaries}}}
  - phase: export
"""
HANDLER = "bench.noop_handler:one_record"
EDITS = {"full": 5, "quick": 3, "tiny": 1}
LINES = {"full": 200_000, "quick": 20_000, "tiny": 200}


@dataclass(frozen=True)
class Edit:
    """One inserted line: what diff said and what it cost."""

    dirty_units: dict[str, int]
    total_units: int
    reasons_s: float
    plain_s: float


def _compile(ctx: BenchContext, directory: Path) -> Path:
    plan = directory / "plan.json"
    run_once(
        Command(
            "compile",
            (ctx.tool("shardplan"), "compile", "shardplan.yaml", "-o", plan.name),
            directory,
            ctx.env(),
        )
    )
    return plan


def _project(directory: Path, boundaries: str, lines: list[bytes]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "shardplan.yaml").write_text(SPEC.format(boundaries=boundaries), encoding="utf-8")
    (directory / "script.jsonl").write_bytes(b"".join(lines))


def _units(plan: Path) -> tuple[dict[str, int], int]:
    """Units per shard of each phase (its languages) and the plan's units, read line by line."""
    factors: dict[str, int] = {}
    total = 0
    current = 1
    with plan.open("rb") as stream:
        for raw in stream:
            if raw.startswith(b'    {"phase"'):
                text = raw.decode("utf-8")
                head = json.loads(text[: text.index(', "shards": [')].strip() + "}")
                languages = head.get("target_languages")
                current = len(languages) if languages else 1
                factors[head["phase"]] = current
            elif raw.startswith(b'{"end"'):
                total += current
    return factors, total


def _insert(lines: list[bytes], rng: random.Random, serial: int) -> list[bytes]:
    at = rng.randrange(1, len(lines))
    record = json.loads(lines[at - 1])
    record["line_id"] = f"{record['line_id']}_{9000 + serial}"
    record["text"] = "An inserted line."
    record.pop("speaker", None)
    return [*lines[:at], json.dumps(record, ensure_ascii=False).encode() + b"\n", *lines[at:]]


def _diff(ctx: BenchContext, old: Path, new: Path, cwd: Path, out: Path) -> float:
    return run_once(
        Command(
            "diff",
            (ctx.tool("shardplan"), "diff", str(old), str(new), "--format", "json"),
            cwd,
            ctx.env(),
            stdout_path=out,
        )
    ).seconds


def _measure_edit(
    ctx: BenchContext, base: Path, edited: Path, plain: Path, factors: dict[str, int]
) -> Edit:
    reasons_out = edited / "diff.json"
    # Plain: the same two plans where their sources are not at hand.
    for side in ("old", "new"):
        (plain / side).mkdir(parents=True, exist_ok=True)
    shutil.copy(base / "plan.json", plain / "old" / "plan.json")
    shutil.copy(edited / "plan.json", plain / "new" / "plan.json")
    reasons_s: list[float] = []
    plain_s: list[float] = []
    for _ in range(2):  # interleaved pairs
        reasons_s.append(_diff(ctx, base / "plan.json", edited / "plan.json", edited, reasons_out))
        plain_s.append(
            _diff(ctx, plain / "old/plan.json", plain / "new/plan.json", plain, plain / "d.json")
        )
    report = json.loads(reasons_out.read_bytes())
    assert report["lines_known"], "diff did not read the sources"
    dirty = {
        phase["phase"]: (len(phase["changed"]) + len(phase["added"])) * factors[phase["phase"]]
        for phase in report["phases"]
    }
    _, total = _units(edited / "plan.json")
    return Edit(dirty, total, min(reasons_s), min(plain_s))


def _reuse_supported(ctx: BenchContext) -> bool:
    done = subprocess.run(
        [ctx.tool("shardplan"), "run", "--help"], capture_output=True, text=True, check=False
    )
    return "--reuse" in done.stdout


def _run(ctx: BenchContext, plan: Path, out: Path, *extra: str) -> tuple[float, int, int]:
    """Seconds, units the handler ran and units reused, from the run's events."""
    seconds = run_once(
        Command(
            "run",
            (
                ctx.tool("shardplan"),
                "run",
                str(plan),
                "--handler",
                HANDLER,
                "--out",
                str(out),
                "--quiet",
                *extra,
            ),
            plan.parent,
            ctx.env(),
        )
    ).seconds
    ran = reused = 0
    with (out / "events.jsonl").open("rb") as events:
        for raw in events:
            if b'"unit_completed"' in raw:
                ran += 1
            elif b'"unit_reused"' in raw:
                reused += 1
    return seconds, ran, reused


def run(ctx: BenchContext) -> list[Row]:
    size = ctx.size.name
    count = LINES[size]
    rng = random.Random(9)
    script = ctx.workdir / "script.jsonl"
    write_script(script, count)
    original = script.read_bytes().splitlines(keepends=True)
    edits_by_kind: dict[str, list[Edit]] = {}
    reuse_rows: list[Row] = []
    positions = [rng.random() for _ in range(EDITS[size])]
    for boundaries in ("content", "fixed"):
        base = ctx.workdir / boundaries / "base"
        _project(base, boundaries, original)
        factors, _ = _units(_compile(ctx, base))
        edits: list[Edit] = []
        for serial, where in enumerate(positions):
            edited = ctx.workdir / boundaries / f"edit-{serial}"
            lines = _insert(original, random.Random(int(where * 2**32)), serial)
            _project(edited, boundaries, lines)
            _compile(ctx, edited)
            edits.append(_measure_edit(ctx, base, edited, edited.parent / "plain", factors))
        edits_by_kind[boundaries] = edits
        if boundaries == "content" and _reuse_supported(ctx):
            reuse_rows = _reuse_rows(ctx, base, ctx.workdir / boundaries / "edit-0")
    rows: list[Row] = []
    for boundaries, edits in edits_by_kind.items():
        shares = [100 * sum(e.dirty_units.values()) / e.total_units for e in edits]
        phases = sorted(edits[0].dirty_units, key=list(edits[0].dirty_units).index)
        per_phase = ", ".join(
            f"{name} {statistics.median(e.dirty_units[name] for e in edits):g}/"
            f"{max(e.dirty_units[name] for e in edits)}"
            for name in phases
        )
        rows.append(
            Row(
                benchmark=f"rerun: units dirty after 1 inserted line, {boundaries} boundaries",
                value=max(shares),
                unit="% of units (max)",
                comparison="<=" if boundaries == "content" else None,
                target=1.0 if boundaries == "content" else None,
                spread=(min(shares), max(shares)),
                details=f"{count:,} lines, {len(edits)} edits; per phase median/max units: "
                f"{per_phase}",
                extra={"total_units": edits[0].total_units},
            )
        )
        ratios = [e.reasons_s / e.plain_s for e in edits]
        rows.append(
            Row(
                benchmark=f"rerun: diff with reasons / plain diff, {boundaries} boundaries",
                value=statistics.median(ratios),
                unit="x",
                comparison="<=",
                target=2.0,
                spread=(min(ratios), max(ratios)),
                details=f"median {statistics.median(e.reasons_s for e in edits):.2f} s vs "
                f"{statistics.median(e.plain_s for e in edits):.2f} s (best of 2 per edit)",
            )
        )
    return rows + reuse_rows


def _reuse_rows(ctx: BenchContext, base: Path, edited: Path) -> list[Row]:
    first = base / "run"
    shutil.rmtree(first, ignore_errors=True)
    _run(ctx, base / "plan.json", first)
    reuse_out, fresh_out = edited / "run-reuse", edited / "run-fresh"
    for out in (reuse_out, fresh_out):
        shutil.rmtree(out, ignore_errors=True)
    reuse_s, ran, reused = _run(ctx, edited / "plan.json", reuse_out, "--reuse", str(first))
    fresh_s, fresh_ran, _ = _run(ctx, edited / "plan.json", fresh_out)
    total = ran + reused
    return [
        Row(
            benchmark="rerun: units the handler ran with --reuse after 1 inserted line (content)",
            value=100 * ran / total if total else None,
            unit="% of units",
            comparison="<=",
            target=1.0,
            details=f"{ran} ran, {reused} reused of {total}; a fresh run ran {fresh_ran}",
        ),
        Row(
            benchmark="rerun: run --reuse / fresh run of the edited plan (content)",
            value=reuse_s / fresh_s,
            unit="x",
            details=f"{reuse_s:.1f} s vs {fresh_s:.1f} s, handler {HANDLER} (costs nothing: "
            "reuse saves what a real handler costs, not executor time)",
        ),
    ]
