"""Plan verification: the executor runs exactly the plan that was reviewed, or nothing.

Before any handler runs: the plan parses, its `plan_id` matches its content
(recomputed over the raw JSON object, so no field the model might drop or
normalise escapes the hash), it validates against the plan model, its shards
agree with the source lines, and the source file's sha256 is the one the plan
was compiled from. Every refusal names what changed and what to do.
"""

from __future__ import annotations

import hashlib
import json
import stat
from dataclasses import dataclass
from pathlib import Path

from pydantic import JsonValue, ValidationError

from shardplan_schemas.canonical import compute_plan_id
from shardplan_schemas.plan import PLAN_FORMAT, ShardPlan
from shardplan_schemas.plan_structure import key_problem, structure_problem
from shardplan_schemas.source import SourceLine
from shardplan_schemas.source_formats import SourceFormatError, read_source_lines

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
    """A plan whose id, shards and source were checked, with the source's lines."""

    plan: ShardPlan
    plan_path: Path
    source_path: Path
    lines: list[SourceLine]


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise PlanRefusedError(f"{path}: the {what} is a directory, not a file", 2)
        if not stat.S_ISREG(mode):  # a FIFO or a device would block or never end
            raise PlanRefusedError(f"{path}: the {what} is not a regular file", 2)
        return path.read_bytes()
    except OSError as error:
        raise PlanRefusedError(f"{path}: cannot read the {what}: {error.strerror}", 2) from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_verified_plan(plan_path: Path, source_override: Path | None = None) -> VerifiedPlan:
    """Read, check and return the plan at `plan_path` with its source lines.

    Raises `PlanRefusedError` on any mismatch; nothing is run by this function.
    """
    raw_bytes = _read_bytes(plan_path, "plan")
    try:
        raw: JsonValue = json.loads(raw_bytes)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        where = f":{error.lineno}" if isinstance(error, json.JSONDecodeError) else ""
        raise PlanRefusedError(
            f"{plan_path}{where}: not a JSON plan ({error}); {RECOMPILE}"
        ) from None
    except RecursionError:
        raise PlanRefusedError(f"{plan_path}: not a plan (nested too deeply)") from None
    if not isinstance(raw, dict):
        raise PlanRefusedError(
            f"{plan_path}: not a plan (a JSON {type(raw).__name__}, expected an object)"
        )
    declared = raw.get("plan_id")
    try:
        actual = compute_plan_id(raw)
    except RecursionError:
        raise PlanRefusedError(f"{plan_path}: not a plan (nested too deeply)") from None
    if declared != actual:
        raise PlanRefusedError(
            f"{plan_path}: the plan was changed after it was compiled: its content hashes to "
            f"{actual} but it declares plan_id {declared!r}. Do not edit plans by hand; {RECOMPILE}"
        )
    declared_format = raw.get("format")
    if declared_format != PLAN_FORMAT:
        raise PlanRefusedError(
            f"{plan_path}: this plan's format is {declared_format!r}; this shardplan runs only "
            f"{PLAN_FORMAT} plans and never guesses at another format; {RECOMPILE}"
        )
    try:
        plan = ShardPlan.model_validate_json(raw_bytes)
    except ValidationError as error:
        first = error.errors()[0]
        location = "/".join(str(part) for part in first["loc"])
        raise PlanRefusedError(
            f"{plan_path}: not a valid {PLAN_FORMAT} plan: /{location}: {first['msg']} "
            f"({error.error_count()} error(s)); {RECOMPILE}"
        ) from None
    problem = structure_problem(plan)
    if problem is not None:
        raise PlanRefusedError(
            f"{plan_path}: the plan's structure is not one shardplan writes: {problem}; "
            f"nothing was run (a plan_id is a checksum, not a signature). {RECOMPILE}"
        )

    source_path = (
        source_override
        if source_override is not None
        else plan_path.parent / Path(*plan.source.path.split("/"))
    )
    source_bytes = _read_bytes(source_path, "source file named by the plan")
    if _sha256(source_bytes) != plan.source.sha256:
        raise PlanRefusedError(
            f"{source_path}: the source changed since the plan was compiled "
            f"(sha256 {_sha256(source_bytes)}, the plan expects {plan.source.sha256}); "
            f"no unit was run. {RECOMPILE}"
        )
    try:
        lines = read_source_lines(source_path, plan.source.format)
    except SourceFormatError as error:
        where = f":{error.line}" if error.line is not None else ""
        raise PlanRefusedError(f"{source_path}{where}: {error.message}") from None
    _check_shards(plan, plan_path, lines)
    return VerifiedPlan(plan=plan, plan_path=plan_path, source_path=source_path, lines=lines)


def _check_shards(plan: ShardPlan, plan_path: Path, lines: list[SourceLine]) -> None:
    """Every shard's key must name the source line at its start (its unit ids and files do)."""
    problem = key_problem(plan, [line.line_id for line in lines])
    if problem is not None:
        raise PlanRefusedError(
            f"{plan_path}: the plan does not match its source: {problem}; nothing was run. "
            f"{RECOMPILE}"
        )
