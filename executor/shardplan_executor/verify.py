"""Plan verification: the executor runs exactly the plan that was reviewed, or nothing.

Before any handler runs: the plan parses, its `plan_id` matches its content
(recomputed over the raw JSON, so no field the model might drop or normalise
escapes the hash), it validates against the plan model, its structure is one
the compiler writes, the source file's sha256 is the one the plan was
compiled from, and every shard's key names the source line at its start.
Every refusal names what changed and what to do. All of it streams
(`plan_reader`, `source_index`): a million-line plan and script are checked
in seconds, with the shards kept as arrays and the lines left on disk.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from shardplan_executor.plan_reader import (
    PhaseShards,
    PlanFormatError,
    PlanIdMismatch,
    PlanInvalid,
    PlanOtherFormat,
    ReadPlan,
    read_plan,
)
from shardplan_executor.source_index import ScannedSource, Source, scan_source
from shardplan_schemas.plan import PLAN_FORMAT, ShardPlan
from shardplan_schemas.source_formats import SourceFormatError

RECOMPILE = "recompile the plan with `shardplan compile SPEC -o PLAN` and review it again"


class PlanRefusedError(Exception):
    """The plan or its source does not match; nothing may run.

    `exit_code` is 1 for a mismatch or invalid input, 2 for a file that cannot be read.
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


@dataclass(frozen=True)
class VerifiedPlan:
    """A plan whose id, shards and source were checked.

    `plan.phases[i].shards` are empty; phase i's shards are `shards[i]`
    (arrays). `start_ids` maps every shard start to the verified id of the
    source line there; `source` reads lines on demand.
    """

    plan: ShardPlan
    plan_path: Path
    source_path: Path
    shards: list[PhaseShards]
    source: Source
    start_ids: dict[int, str]


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        _check_regular(path, what)
        return path.read_bytes()
    except OSError as error:
        raise PlanRefusedError(f"{path}: cannot read the {what}: {error.strerror}", 2) from None


def _check_regular(path: Path, what: str) -> None:
    mode = path.stat().st_mode
    if stat.S_ISDIR(mode):
        raise PlanRefusedError(f"{path}: the {what} is a directory, not a file", 2)
    if not stat.S_ISREG(mode):  # a FIFO or a device would block or never end
        raise PlanRefusedError(f"{path}: the {what} is not a regular file", 2)


def load_verified_plan(plan_path: Path, source_override: Path | None = None) -> VerifiedPlan:
    """Read, check and return the plan at `plan_path` with its source, indexed.

    Raises `PlanRefusedError` on any mismatch; nothing is run by this function.
    """
    raw_bytes = _read_bytes(plan_path, "plan")
    try:
        read = read_plan(raw_bytes)
    except PlanFormatError as error:
        where = f":{error.line}" if error.line is not None else ""
        suffix = f"; {RECOMPILE}" if error.message.startswith("not a JSON") else ""
        raise PlanRefusedError(f"{plan_path}{where}: {error.message}{suffix}") from None
    except PlanIdMismatch as mismatch:
        raise PlanRefusedError(
            f"{plan_path}: the plan was changed after it was compiled: its content hashes to "
            f"{mismatch.actual} but it declares plan_id {mismatch.declared!r}. Do not edit plans "
            f"by hand; {RECOMPILE}"
        ) from None
    except PlanOtherFormat as other:
        raise PlanRefusedError(
            f"{plan_path}: this plan's format is {other.declared!r}; this shardplan runs only "
            f"{PLAN_FORMAT} plans and never guesses at another format; {RECOMPILE}"
        ) from None
    except PlanInvalid as invalid:
        if invalid.structural:
            raise PlanRefusedError(
                f"{plan_path}: the plan's structure is not one shardplan writes: "
                f"{invalid.problem}; nothing was run (a plan_id is a checksum, not a "
                f"signature). {RECOMPILE}"
            ) from None
        raise PlanRefusedError(
            f"{plan_path}: not a valid {PLAN_FORMAT} plan: {invalid.problem}; {RECOMPILE}"
        ) from None
    plan = read.plan
    source_path = (
        source_override
        if source_override is not None
        else plan_path.parent / Path(*plan.source.path.split("/"))
    )
    what = "source file named by the plan"
    starts = (start for phase in read.shards for start in phase.starts)
    try:
        _check_regular(source_path, what)
        scanned = scan_source(source_path, plan.source.format, plan.source.sha256, starts)
    except OSError as error:
        raise PlanRefusedError(
            f"{source_path}: cannot read the {what}: {error.strerror}", 2
        ) from None
    except SourceFormatError as error:
        where = f":{error.line}" if error.line is not None else ""
        raise PlanRefusedError(f"{source_path}{where}: {error.message}") from None
    if isinstance(scanned, str):
        raise PlanRefusedError(
            f"{source_path}: the source changed since the plan was compiled "
            f"(sha256 {scanned}, the plan expects {plan.source.sha256}); "
            f"no unit was run. {RECOMPILE}"
        )
    problem = _key_problem(read, scanned)
    if problem is not None:
        scanned.source.close()
        raise PlanRefusedError(
            f"{plan_path}: the plan does not match its source: {problem}; nothing was run. "
            f"{RECOMPILE}"
        )
    return VerifiedPlan(
        plan=plan,
        plan_path=plan_path,
        source_path=source_path,
        shards=read.shards,
        source=scanned.source,
        start_ids=scanned.ids_at,
    )


def _key_problem(read: ReadPlan, scanned: ScannedSource) -> str | None:
    """The first shard whose key does not name the source line at its start (DESIGN §7)."""
    line_count = read.plan.source.line_count
    if scanned.source.line_count != line_count:
        return (
            f"the plan counts {line_count} source lines but the source has "
            f"{scanned.source.line_count}"
        )
    ids = scanned.ids_at
    for phase, shards, keys in zip(read.plan.phases, read.shards, read.keys, strict=True):
        prefix = phase.phase + ":"
        expected = "\n".join(map(prefix.__add__, map(ids.__getitem__, shards.starts)))
        if expected == keys:
            continue
        for start, key in zip(shards.starts, keys.split("\n"), strict=True):
            if key != prefix + ids[start]:
                return (
                    f"shard {key} starts at line {start}, whose id is {ids[start]}, "
                    f"not {key.partition(':')[2]}"
                )
    return None
