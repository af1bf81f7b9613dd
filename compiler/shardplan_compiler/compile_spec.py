"""Compile a loaded spec and its source into a plan (DESIGN §3-§5).

The one entry point both `compile` and `validate --source` use, so that
validate reports exactly what compile would. The result keeps the plan as a
streamable document; the `ShardPlan` model is built only when asked for.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

from shardplan_compiler.plan_build import (
    PhaseShards,
    ShardingFinding,
    build_document,
    resolve_phase,
    shard_phase,
)
from shardplan_compiler.plan_io import PlanDocument, write_plan
from shardplan_compiler.relative_paths import relative_path
from shardplan_compiler.sources import read_source
from shardplan_compiler.spec_loading import LoadedSpec, pointer_text
from shardplan_schemas.diagnostics import Diagnostic
from shardplan_schemas.plan import ShardPlan
from shardplan_schemas.source_formats import format_from_extension


@dataclass(frozen=True)
class PhaseSummary:
    """What `compile` prints per phase: the shard plan made visible before anything runs."""

    phase: str
    enabled: bool
    strategy: str
    shards: int
    units: int
    cap: int


@dataclass
class CompileResult:
    """What compiling found (beyond the spec's own findings), and the plan when it succeeded."""

    diagnostics: list[Diagnostic]
    document: PlanDocument | None = None
    summaries: list[PhaseSummary] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.document is not None

    def write(self, out: BinaryIO, workers: int = 1) -> str:
        """Stream the plan file to `out`; returns the plan id (see `write_plan` for `workers`)."""
        if self.document is None:
            raise ValueError("there is no plan: compilation failed")
        return write_plan(self.document, out, workers)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.write(buffer)
        return buffer.getvalue()

    @cached_property
    def plan(self) -> ShardPlan | None:
        """The plan as the model (validated once, from the bytes the writer makes)."""
        if self.document is None:
            return None
        return ShardPlan.model_validate_json(self.to_bytes())


def _finding_diagnostic(loaded: LoadedSpec, finding: ShardingFinding) -> Diagnostic:
    line, column = loaded.positions.locate(finding.pointer)
    return Diagnostic(
        path=loaded.path.as_posix(),
        line=line,
        column=column,
        severity=finding.severity,
        code=finding.code,
        message=finding.message,
        pointer=pointer_text(finding.pointer),
    )


def source_path_of(loaded: LoadedSpec, source_override: Path | None) -> Path | None:
    """The source file a compile reads: `--source`, else the spec's path relative to the spec."""
    if source_override is not None:
        return source_override
    if loaded.spec is None:
        return None
    given = Path(loaded.spec.source.path)
    return given if given.is_absolute() else Path(os.path.normpath(loaded.path.parent / given))


def compile_loaded_spec(
    loaded: LoadedSpec, source_override: Path | None, plan_dir: Path | None
) -> CompileResult:
    """Read the source, shard every phase and build the plan document.

    `diagnostics` holds what compiling adds to the spec's own findings (which
    stay in `loaded.diagnostics`): source-record diagnostics name the source
    file and line; sharding diagnostics sit on the spec's phase or execution
    node. A spec with errors compiles to nothing and adds nothing. Paths in the plan
    are relative to `plan_dir` (the working directory when None).
    """
    diagnostics: list[Diagnostic] = []
    spec = loaded.spec
    if spec is None or loaded.raw is None or loaded.has_errors:
        return CompileResult(diagnostics)
    source = source_path_of(loaded, source_override)
    assert source is not None
    fmt = spec.source.format or format_from_extension(source)
    if fmt is None:
        line, column = loaded.positions.locate(("source", "path"))
        diagnostics.append(
            Diagnostic(
                path=loaded.path.as_posix(),
                line=line,
                column=column,
                severity="error",
                code="SP401",
                message=f"cannot tell the format of {source.as_posix()} from its extension; "
                "name it .jsonl, .csv or .txt, or set source.format",
                pointer="/source/path",
            )
        )
        return CompileResult(diagnostics)
    read = read_source(source, fmt, source.as_posix())
    diagnostics.extend(read.diagnostics)
    table = read.table
    if table is None:
        return CompileResult(diagnostics)
    phases: list[PhaseShards] = []
    failed = False
    for index, config in enumerate(spec.phases):
        sharded, findings = shard_phase(resolve_phase(spec, index, config), table)
        diagnostics.extend(_finding_diagnostic(loaded, finding) for finding in findings)
        failed |= sharded.starts is None
        phases.append(sharded)
    if failed:
        return CompileResult(diagnostics)
    base = plan_dir if plan_dir is not None else Path.cwd()
    document = build_document(
        spec,
        phases,
        table,
        spec_path=relative_path(loaded.path, base),
        spec_sha256=hashlib.sha256(loaded.raw).hexdigest(),
        source_path=relative_path(source, base),
    )
    summaries = [
        PhaseSummary(
            phase=item.resolved.phase,
            enabled=item.resolved.enabled,
            strategy=item.resolved.strategy,
            shards=len(item.starts or []),
            units=len(item.starts or []) * item.resolved.language_factor,
            cap=item.resolved.max_parallel_agents,
        )
        for item in phases
    ]
    return CompileResult(diagnostics, document, summaries)
