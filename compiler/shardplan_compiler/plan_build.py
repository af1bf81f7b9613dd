"""Build a plan from a valid spec and a condensed source (DESIGN §4, §5).

Resolution (defaults, caps, languages) and the sharding checks happen here;
the shards themselves come from `sharding.shard_starts` and become JSON lines
straight away, without a pydantic object per shard: a plan of a million-line
script can hold hundreds of thousands of them. The small parts go through
plain dicts the plan models describe; `compile_spec` validates the result
once through `ShardPlan` when someone asks for the model.
"""

from __future__ import annotations

import weakref
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from pydantic import JsonValue

from shardplan_compiler.boundaries import MAX_PIECE_FACTOR
from shardplan_compiler.fingerprint import fingerprint_header, shard_fingerprints
from shardplan_compiler.plan_io import PhaseDocument, PlanDocument
from shardplan_compiler.sharding import (
    HEAVY_SKEW,
    Runs,
    group_count,
    lines_without_key,
    shard_ends,
    shard_starts,
    size_stats,
    split_groups,
)
from shardplan_compiler.sources import SourceTable
from shardplan_compiler.two_ended import SharedWork, can_fork
from shardplan_schemas import __version__
from shardplan_schemas.diagnostics import Severity
from shardplan_schemas.plan import PLAN_FORMAT
from shardplan_schemas.primitives import PER_LANGUAGE_PHASES, PhaseName, Strategy
from shardplan_schemas.spec import PhaseConfig, PipelineSpec
from shardplan_schemas.vocabulary import Boundaries

Pointer = tuple[str | int, ...]
MAX_NAMED_LINES = 5
MAX_SPLIT_WARNINGS = 10
DEFAULT_CHUNK_SIZE = 10
NO_EXECUTION_PHASES: frozenset[str] = frozenset({"ingest", "export"})


@dataclass(frozen=True)
class ResolvedPhase:
    """A phase of the spec with every default applied."""

    index: int
    phase: PhaseName
    enabled: bool
    agents: list[str]
    strategy: Strategy
    chunk_size: int | None
    scene_batch_size: int | None
    route_batch_size: int | None
    max_parallel_agents: int
    target_languages: list[str] | None
    explicit_execution: bool
    explicit_cap: bool
    boundaries: Boundaries = "fixed"

    @property
    def size(self) -> int | None:
        return {
            "chunk": self.chunk_size,
            "scene": self.scene_batch_size,
            "route": self.route_batch_size,
        }.get(self.strategy)

    @property
    def size_field(self) -> str | None:
        return {
            "chunk": "chunk_size",
            "scene": "scene_batch_size",
            "route": "route_batch_size",
        }.get(self.strategy)

    @property
    def language_factor(self) -> int:
        return len(self.target_languages) if self.target_languages is not None else 1

    def execution(self) -> dict[str, JsonValue]:
        return {
            "strategy": self.strategy,
            "boundaries": self.boundaries,
            "chunk_size": self.chunk_size,
            "scene_batch_size": self.scene_batch_size,
            "route_batch_size": self.route_batch_size,
            "max_parallel_agents": self.max_parallel_agents,
        }

    def strategy_pointer(self) -> Pointer:
        if self.explicit_execution:
            return ("phases", self.index, "execution", "strategy")
        return ("phases", self.index, "phase")


def resolve_phase(spec: PipelineSpec, index: int, config: PhaseConfig) -> ResolvedPhase:
    """Apply DESIGN §2's defaults: context → scene 1, LLM phases → chunk 10, ingest/export → full."""
    default_cap = spec.concurrency.max_parallel_agents
    execution = config.execution if config.phase not in NO_EXECUTION_PHASES else None
    chunk_size = scene_batch_size = route_batch_size = None
    strategy: Strategy
    boundaries: Boundaries = "fixed"
    if execution is None:
        if config.phase in NO_EXECUTION_PHASES:
            strategy = "full"
        elif config.phase == "context":
            strategy, scene_batch_size = "scene", 1
        else:
            strategy, chunk_size = "chunk", DEFAULT_CHUNK_SIZE
        cap = default_cap
    else:
        strategy = execution.strategy
        if strategy == "chunk":
            chunk_size = execution.chunk_size
        elif strategy == "scene":
            scene_batch_size = execution.scene_batch_size or 1
        elif strategy == "route":
            route_batch_size = execution.route_batch_size or 1
        cap = execution.max_parallel_agents or default_cap
        if strategy != "full":  # `full` with `content` is SP312: the spec never gets here
            boundaries = execution.boundaries
    return ResolvedPhase(
        index=index,
        phase=config.phase,
        enabled=config.enabled,
        agents=list(config.agents or []),
        strategy=strategy,
        chunk_size=chunk_size,
        scene_batch_size=scene_batch_size,
        route_batch_size=route_batch_size,
        max_parallel_agents=cap,
        target_languages=(
            list(spec.languages.target_languages) if config.phase in PER_LANGUAGE_PHASES else None
        ),
        explicit_execution=execution is not None,
        explicit_cap=execution is not None and execution.max_parallel_agents is not None,
        boundaries=boundaries,
    )


@dataclass(frozen=True)
class ShardingFinding:
    """A sharding error or warning, located by a pointer into the spec."""

    code: str
    pointer: Pointer
    message: str
    severity: Severity


@dataclass(frozen=True)
class PhaseShards:
    """A resolved phase and where its shards start (None when it cannot be sharded)."""

    resolved: ResolvedPhase
    starts: list[int] | None


def shard_phase(
    resolved: ResolvedPhase, table: SourceTable
) -> tuple[PhaseShards, list[ShardingFinding]]:
    """Shard one phase and check it (SP501-SP506)."""
    findings: list[ShardingFinding] = []
    count = len(table)
    if not resolved.enabled:
        return PhaseShards(resolved, []), findings
    name = resolved.phase
    where = resolved.strategy_pointer()
    if resolved.strategy == "route":
        missing = lines_without_key(table.route_runs, count)
        if missing:
            findings.append(
                ShardingFinding(
                    "SP501", where, _route_missing_message(name, missing, table), "error"
                )
            )
            return PhaseShards(resolved, None), findings
    if resolved.strategy in ("scene", "route"):
        runs = table.scene_runs if resolved.strategy == "scene" else table.route_runs
        findings.extend(_split_findings(resolved, runs, table))
    content = resolved.boundaries == "content"
    starts = shard_starts(
        resolved.strategy,
        resolved.size,
        count,
        table.scene_runs,
        table.route_runs,
        resolved.boundaries,
        table.id_hashes if content else (),
    )
    groups = group_count(resolved.strategy, count, table.scene_runs, table.route_runs)
    size = resolved.size
    if count and size is not None and size > groups and resolved.size_field is not None:
        unit = "lines" if resolved.strategy == "chunk" else f"{resolved.strategy} runs"
        findings.append(
            ShardingFinding(
                "SP504",
                ("phases", resolved.index, "execution", resolved.size_field),
                f"{resolved.size_field} {size} is larger than the {groups} {unit} of the source; "
                + (
                    f"phase {name} gets {len(starts)} shard(s) with content boundaries"
                    if content
                    else f"phase {name} gets a single shard"
                ),
                "warning",
            )
        )
    units = len(starts) * resolved.language_factor
    if resolved.explicit_cap and count and resolved.max_parallel_agents > units:
        findings.append(
            ShardingFinding(
                "SP505",
                ("phases", resolved.index, "execution", "max_parallel_agents"),
                f"max_parallel_agents {resolved.max_parallel_agents} is larger than phase "
                f"{name}'s {units} unit(s) of work ({len(starts)} shard(s)"
                + (
                    f" x {resolved.language_factor} languages"
                    if resolved.target_languages is not None
                    else ""
                )
                + f"); at most {units} can run at once",
                "warning",
            )
        )
    stats = size_stats(
        [end - start for start, end in zip(starts, shard_ends(starts, count), strict=True)]
    )
    # Content boundaries make shards of 1 to 4x the size by design (a max/median near 6):
    # only a skew well beyond that says something about the script.
    heavy = HEAVY_SKEW * MAX_PIECE_FACTOR if content and (size or 1) > 1 else HEAVY_SKEW
    if stats.count >= 2 and stats.skew >= heavy:
        findings.append(
            ShardingFinding(
                "SP506",
                where,
                f"phase {name} is heavily skewed: its largest shard has {stats.maximum} lines, "
                f"{stats.skew:.1f}x the median of {stats.median:g}; the phase takes as long as "
                "its largest shard, so consider a smaller batch or the chunk strategy",
                "warning",
            )
        )
    return PhaseShards(resolved, starts), findings


def _route_missing_message(name: str, missing: list[tuple[int, int]], table: SourceTable) -> str:
    total = sum(end - start for start, end in missing)
    named: list[str] = []
    for start, end in missing:
        for index in range(start, min(end, start + MAX_NAMED_LINES)):
            if len(named) < MAX_NAMED_LINES:
                named.append(table.where(index))
    shown = ", ".join(named)
    suffix = f" (the first {len(named)} of {total})" if total > len(named) else ""
    return (
        f"phase {name} uses the route strategy, but {total} line(s) have no route_id: "
        f"{shown}{suffix}; give every line a route_id or use another strategy"
    )


def _split_findings(
    resolved: ResolvedPhase, runs: Runs, table: SourceTable
) -> Iterator[ShardingFinding]:
    kind = resolved.strategy
    code = "SP502" if kind == "scene" else "SP503"
    splits = split_groups(runs, len(table))
    for split in splits[:MAX_SPLIT_WARNINGS]:
        (a_start, a_end), (b_start, b_end) = split.runs[0], split.runs[1]
        more = f" (and {len(split.runs) - 2} more run(s))" if len(split.runs) > 2 else ""
        yield ShardingFinding(
            code,
            resolved.strategy_pointer(),
            f"{kind} {split.key} appears in separate runs, {table.where_range(a_start, a_end)} "
            f"and {table.where_range(b_start, b_end)}{more}; phase {resolved.phase} shards each "
            f"run as its own group. Keep a {kind}'s lines together if they belong together",
            "warning",
        )
    if len(splits) > MAX_SPLIT_WARNINGS:
        yield ShardingFinding(
            code,
            resolved.strategy_pointer(),
            f"{len(splits) - MAX_SPLIT_WARNINGS} more {kind}(s) appear in separate runs "
            f"({len(splits)} in all) in phase {resolved.phase}",
            "warning",
        )


SHARD_TEMPLATE = '{{"end":{},"key":"{}:{}","sha256":"{}","start":{}}}'
"""A shard's canonical JSON (keys sorted, no spaces); a test checks it against `canonical_json`."""
SHARD_BATCH = 4096


def shard_line_format(phase: str) -> str:
    """`SHARD_TEMPLATE` with the phase filled in, as a `%` format of (end, line id, sha256, start).

    `%` with a tuple is the cheapest way CPython has to build a short string
    from four values; `map(format.__mod__, zip(...))` renders a batch of
    shards without a Python-level call per shard.
    """
    return SHARD_TEMPLATE.format("%d", phase.replace("%", "%%"), "%s", "%s", "%d")


def phase_header(resolved: ResolvedPhase) -> bytes:
    """The bytes every fingerprint of the phase starts with."""
    return fingerprint_header(
        resolved.phase,
        resolved.agents,
        resolved.strategy,
        resolved.chunk_size,
        resolved.scene_batch_size,
        resolved.route_batch_size,
    )


def shard_batches(
    resolved: ResolvedPhase,
    starts: list[int],
    table: SourceTable,
    shared: Callable[[int], str] | None = None,
) -> Iterator[list[str]]:
    """Each shard's canonical JSON line, built column by column, a batch at a time.

    Ids match `^[a-z]+(?:_[0-9]+)+$` and phase names and hex digests are
    plain ASCII, so no value needs escaping. Every column is computed with
    C-level `map`s: a million-line script can have hundreds of thousands of
    shards, and a Python call per shard and field would dominate compiling.
    `shared(i)` gives batch `i` as its lines joined by newlines, when a
    forked child helps render them (`_share_batches`).
    """
    if shared is not None:
        for number in range((len(starts) + SHARD_BATCH - 1) // SHARD_BATCH):
            yield [shared(number)]  # a batch's lines joined by newlines, as one item
        return
    ids = table.line_ids
    digests = table.digests
    all_ends = shard_ends(starts, len(table))
    render = shard_line_format(resolved.phase).__mod__
    header = phase_header(resolved)
    for offset in range(0, len(starts), SHARD_BATCH):
        batch_starts = starts[offset : offset + SHARD_BATCH]
        batch_ends = all_ends[offset : offset + SHARD_BATCH]
        shas = shard_fingerprints(header, digests, batch_starts, batch_ends)
        first_ids = map(ids.__getitem__, batch_starts)
        yield list(map(render, zip(batch_ends, first_ids, shas, batch_starts, strict=True)))


@dataclass(frozen=True)
class ShardBatch:
    """A batch of one phase's shards, in compact form: all that rendering it needs but the digests.

    Made before the plan-writing child is forked, so that neither process
    touches a line id or a shard start afterwards: with a million ids on
    shared pages, the reference counts one process bumps would copy every
    page they sit on (a first try, that rendered from the ids, took the
    process tree's memory from 180 to 278 MiB).
    """

    header: bytes
    line_format: str
    starts: array[int]
    ends: array[int]
    ids: str
    """The line ids at the shards' starts, joined by newlines."""


def phase_batches(
    resolved: ResolvedPhase, starts: list[int], table: SourceTable
) -> list[ShardBatch]:
    """A phase's shards in batches of `SHARD_BATCH`."""
    header = phase_header(resolved)
    line_format = shard_line_format(resolved.phase)
    ends = shard_ends(starts, len(table))
    ids = table.line_ids
    return [
        ShardBatch(
            header,
            line_format,
            array("q", starts[offset : offset + SHARD_BATCH]),
            array("q", ends[offset : offset + SHARD_BATCH]),
            "\n".join(map(ids.__getitem__, starts[offset : offset + SHARD_BATCH])),
        )
        for offset in range(0, len(starts), SHARD_BATCH)
    ]


def render_batch(batch: ShardBatch, digests: bytes | bytearray) -> str:
    """A batch's shard lines, joined by newlines."""
    shas = shard_fingerprints(batch.header, digests, batch.starts, batch.ends)
    render = batch.line_format.__mod__
    first_ids = batch.ids.split("\n")
    return "\n".join(map(render, zip(batch.ends, first_ids, shas, batch.starts, strict=True)))


def whole_milliseconds(seconds: float) -> int:
    """Seconds as whole milliseconds, half up (the plan holds no floats)."""
    return int((Decimal(repr(seconds)) * 1000).to_integral_value(rounding=ROUND_HALF_UP))


def build_document(
    spec: PipelineSpec,
    phases: list[PhaseShards],
    table: SourceTable,
    spec_path: str,
    spec_sha256: str,
    source_path: str,
    fork_fingerprints: bool | None = None,
) -> PlanDocument:
    """The plan (without `plan_id`) as the writer takes it.

    `fork_fingerprints` shares fingerprinting and rendering the shards with a
    forked child while the plan is written (`_share_batches`); default: for plans of
    `FORK_MIN_SHARDS` shards or more, on a machine that can fork. The plan's
    bytes are the same either way.
    """
    head: dict[str, JsonValue] = {
        "format": PLAN_FORMAT,
        "generator": {"name": "shardplan", "version": __version__},
        "spec": {"path": spec_path, "sha256": spec_sha256},
        "source": {
            "path": source_path,
            "format": table.format,
            "sha256": table.sha256,
            "line_count": len(table),
        },
        "run_policy": {
            "max_retries": spec.retry.max_retries,
            "backoff_ms": whole_milliseconds(spec.retry.backoff_s),
            "max_backoff_ms": whole_milliseconds(spec.retry.max_backoff_s),
            "max_consecutive_failures": spec.concurrency.max_consecutive_failures,
        },
    }
    documents: list[PhaseDocument] = []
    shared = (
        _share_batches(phases, table, force=fork_fingerprints is True)
        if fork_fingerprints is not False
        else {}
    )
    for index, item in enumerate(phases):
        resolved = item.resolved
        starts = item.starts or []
        documents.append(
            PhaseDocument(
                head={
                    "phase": resolved.phase,
                    "target_languages": list(resolved.target_languages)
                    if resolved.target_languages is not None
                    else None,
                    "enabled": resolved.enabled,
                    "agents": list(resolved.agents),
                    "execution": resolved.execution(),
                },
                shard_count=len(starts),
                shard_batches=partial(shard_batches, resolved, starts, table, shared.get(index)),
            )
        )
    return PlanDocument(head=head, phases=documents)


FORK_MIN_SHARDS = 100_000
"""Below this fingerprinting and rendering take under 0.3 s: not worth a fork."""


def _share_batches(
    phases: list[PhaseShards], table: SourceTable, force: bool = False
) -> dict[int, Callable[[int], str]]:
    """Start a child that renders shard batches with the parent; each phase's way to get them.

    At rentl's defaults a million-line script has 430,000 shards, and their
    fingerprints and lines were most of the time spent after reading the
    source. The batches of every phase, in the order the plan is written,
    are shared out from both ends (`SharedWork`); each process fingerprints
    and renders its own from the compact `ShardBatch`es and the digests.
    """
    total = sum(len(item.starts or []) for item in phases)
    if not can_fork() or (total < FORK_MIN_SHARDS and not force) or not total:
        return {}
    batches: list[ShardBatch] = []
    first_batch: dict[int, int] = {}
    for index, item in enumerate(phases):
        first_batch[index] = len(batches)
        batches.extend(phase_batches(item.resolved, item.starts or [], table))
    digests = table.digests
    shared = SharedWork(
        len(batches), lambda number: render_batch(batches[number], digests).encode("ascii")
    )
    weakref.finalize(shared, shared.close)

    def batch(number: int) -> str:
        done = shared.take(number)
        return render_batch(batches[number], digests) if done is None else done.decode("ascii")

    return {index: partial(_offset, batch, first) for index, first in first_batch.items()}


def _offset(get: Callable[[int], str], first: int, number: int) -> str:
    return get(first + number)
