"""Writing and reading plan files (DESIGN §5).

The writer streams: a million-line script can make hundreds of thousands of
shards, and neither the plan's bytes nor a pydantic object per shard need to
be in memory at once. It takes a `PlanDocument` (the plan's small parts as
plain data plus, per phase, an iterable of shard lines) and writes, in one
pass, the file and the canonical JSON that `plan_id` hashes.

Each shard is written as its own canonical JSON (keys sorted, no spaces), one
shard a line, so the same bytes serve the file and the hash, a changed shard
is one changed line in `git diff`, and a shard line can be checked on its own.
The small parts (top level, phase headers) are indented for reading.
`plan_id` has a fixed length, so the writer puts a placeholder first and
overwrites it once the hash is known (or hashes first, then writes, when the
output cannot seek).
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import BinaryIO

from pydantic import JsonValue, ValidationError
from pydantic_core import ErrorDetails

from shardplan_schemas.canonical import canonical_json, compute_plan_id
from shardplan_schemas.diagnostics import Diagnostic
from shardplan_schemas.plan import PLAN_FORMAT, ShardPlan
from shardplan_schemas.plan_structure import structure_problem

PLAN_ID_PLACEHOLDER = "sha256:" + "0" * 64
_BATCH = 2048
_SHARD_INDENT = ""
"""Shard lines start at the first column: at 425,000 shards, an indent of six costs 2.5 MB."""


class PlanError(Exception):
    """A plan file that cannot be trusted: unreadable, invalid, or edited since it was compiled."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(f"{diagnostic.path}: {diagnostic.message}")
        self.diagnostic = diagnostic


@dataclass(frozen=True)
class PhaseDocument:
    """One phase: its header fields in display order and a re-iterable source of shard lines.

    `shard_batches()` yields the shards' canonical JSON lines in order, a
    batch (list) at a time, so that neither side pays a call per shard.
    """

    head: dict[str, JsonValue]
    shard_count: int
    shard_batches: Callable[[], Iterable[list[str]]]


@dataclass(frozen=True)
class PlanDocument:
    """A plan without `plan_id`: top-level fields in display order, then the phases."""

    head: dict[str, JsonValue]
    phases: list[PhaseDocument]


def _split_canonical(value: dict[str, JsonValue], key: str) -> tuple[bytes, bytes]:
    """Canonical JSON of `value` with `key: []`, split around the empty list.

    Inside a JSON string every quote is escaped, so `"<key>":[]` can only be
    the key itself.
    """
    text = canonical_json({**value, key: []})
    marker = f'"{key}":[]'.encode()
    at = text.index(marker) + len(marker) - 1
    return text[:at], text[at:]


def _display(value: JsonValue) -> str:
    return json.dumps(value, ensure_ascii=False)


def _chunks_of(phase: PhaseDocument) -> Iterator[bytes]:
    """A phase's shard lines as byte chunks of whole lines joined by newlines."""
    for batch in phase.shard_batches():
        if batch:
            yield "\n".join(batch).encode("utf-8")


def _chunks_of_file(body: BinaryIO) -> Iterator[bytes]:
    """A rendered phase body (lines joined by newlines), a megabyte of whole lines at a time."""
    body.seek(0)
    carry = b""
    while True:
        piece = body.read(1 << 20)
        if not piece:
            break
        data = carry + piece if carry else piece
        cut = data.rfind(b"\n")
        if cut < 0:
            carry = data
            continue
        carry = data[cut + 1 :]
        if cut:
            yield data[:cut]
    if carry:
        yield carry


def _render_phase(phase: PhaseDocument, body: BinaryIO) -> None:
    first = True
    for chunk in _chunks_of(phase):
        body.write(chunk if first else b"\n" + chunk)
        first = False
    body.flush()


def _render_in_workers(doc: PlanDocument, workers: int) -> list[BinaryIO] | None:
    """Render the phases' shard lines in forked processes, one temp file per phase.

    Rendering is a Python-level loop per shard; with hundreds of thousands of
    shards, splitting the phases over the machine's cores nearly halves the
    time. The plan's bytes do not depend on it. None when forking is not
    possible or a worker fails (the caller then renders in-process).
    """
    if sys.platform != "linux" or "fork" not in multiprocessing.get_all_start_methods():
        return None
    # Closed by write_plan once the plan is written.
    bodies: list[BinaryIO] = [tempfile.TemporaryFile() for _ in doc.phases]  # noqa: SIM115
    groups: list[list[int]] = [[] for _ in range(workers)]
    loads = [0] * workers
    order = sorted(range(len(doc.phases)), key=lambda i: -doc.phases[i].shard_count)
    for index in order:
        lightest = loads.index(min(loads))
        groups[lightest].append(index)
        loads[lightest] += doc.phases[index].shard_count
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_render_group, args=(doc, group, bodies), daemon=True)
        for group in groups[1:]
        if group
    ]
    for process in processes:
        process.start()
    try:
        _render_group(doc, groups[0], bodies)
    finally:
        for process in processes:
            process.join()
    if any(process.exitcode != 0 for process in processes):
        for body in bodies:
            body.close()
        return None
    return bodies


def _render_group(doc: PlanDocument, group: list[int], bodies: list[BinaryIO]) -> None:
    for index in group:
        _render_phase(doc.phases[index], bodies[index])


def _write_pass(
    doc: PlanDocument,
    plan_id: str,
    out: BinaryIO | None,
    bodies: list[BinaryIO] | None = None,
) -> str:
    """Hash the canonical form and, when `out` is given, write the file. Returns the plan id.

    Shard lines come as chunks of whole lines joined by newlines (a canonical
    line never holds a raw newline): commas join them for the hash, and a
    comma, a newline and an indent for the file.
    """
    hasher = hashlib.sha256()
    top_prefix, top_suffix = _split_canonical(doc.head, "phases")
    hasher.update(top_prefix)
    write = out.write if out is not None else None
    if write is not None:
        write(_head_text(doc, plan_id).encode("utf-8"))
    separator = ("\n" + _SHARD_INDENT).encode()
    for phase_index, phase in enumerate(doc.phases):
        head: dict[str, JsonValue] = {**phase.head, "shard_count": phase.shard_count}
        prefix, suffix = _split_canonical(head, "shards")
        if phase_index:
            hasher.update(b",")
        hasher.update(prefix)
        last_phase = phase_index == len(doc.phases) - 1
        if write is not None:
            write(f'    {_display(head)[:-1]}, "shards": ['.encode())
        count = 0
        chunks = _chunks_of(phase) if bodies is None else _chunks_of_file(bodies[phase_index])
        for chunk in chunks:
            if count:
                hasher.update(b",")
            hasher.update(chunk.replace(b"\n", b","))
            if write is not None:
                write(
                    (b",\n" if count else b"\n")
                    + separator[1:]
                    + chunk.replace(b"\n", b"," + separator)
                )
            count += chunk.count(b"\n") + 1
        if count != phase.shard_count:
            raise ValueError(
                f"phase {phase.head.get('phase')!r} lists {count} shards but says {phase.shard_count}"
            )
        hasher.update(suffix)
        if write is not None:
            closing = "\n    ]}" if count else "]}"
            write((closing + ("\n" if last_phase else ",\n")).encode())
    hasher.update(top_suffix)
    if write is not None:
        write(b"  ]\n}\n")
    return "sha256:" + hasher.hexdigest()


def _head_text(doc: PlanDocument, plan_id: str) -> str:
    lines = ["{", f'  "format": {_display(doc.head["format"])},', f'  "plan_id": "{plan_id}",']
    lines += [
        f'  "{key}": {_display(value)},' for key, value in doc.head.items() if key != "format"
    ]
    lines.append('  "phases": [')
    return "\n".join(lines) + "\n"


PARALLEL_MIN_SHARDS = 200_000
"""Below this, forking costs more (memory: refcounts copy the shared pages) than it saves."""


def write_plan(doc: PlanDocument, out: BinaryIO, workers: int = 1) -> str:
    """Write the plan file to `out`; returns its `plan_id`.

    `workers` > 1 renders big plans' phases in that many processes (same bytes).
    """
    bodies: list[BinaryIO] | None = None
    if workers > 1 and sum(phase.shard_count for phase in doc.phases) >= PARALLEL_MIN_SHARDS:
        bodies = _render_in_workers(doc, workers)
    try:
        if out.seekable():
            start = out.tell()
            plan_id = _write_pass(doc, PLAN_ID_PLACEHOLDER, out, bodies)
            end = out.tell()
            # The placeholder has a fixed length and place: overwrite it in place.
            at = _head_text(doc, PLAN_ID_PLACEHOLDER).index(PLAN_ID_PLACEHOLDER)
            out.seek(start + len(_head_text(doc, PLAN_ID_PLACEHOLDER)[:at].encode("utf-8")))
            out.write(plan_id.encode())
            out.seek(end)
            return plan_id
        plan_id = _write_pass(doc, PLAN_ID_PLACEHOLDER, None, bodies)
        _write_pass(doc, plan_id, out, bodies)
        return plan_id
    finally:
        for body in bodies or []:
            body.close()


def plan_document(plan: ShardPlan) -> PlanDocument:
    """A loaded plan as a document the writer takes (the slow, general path)."""
    data = plan.model_dump(mode="json")
    head = {key: data[key] for key in ("format", "generator", "spec", "source", "run_policy")}
    phases: list[PhaseDocument] = []
    for phase in data["phases"]:
        shards = phase["shards"]
        phases.append(
            PhaseDocument(
                head={
                    key: phase[key]
                    for key in ("phase", "target_languages", "enabled", "agents", "execution")
                },
                shard_count=phase["shard_count"],
                shard_batches=partial(_canonical_batches, shards),
            )
        )
    return PlanDocument(head=head, phases=phases)


def _canonical_batches(shards: list[dict[str, JsonValue]]) -> Iterator[list[str]]:
    for start in range(0, len(shards), _BATCH):
        yield [canonical_json(shard).decode("utf-8") for shard in shards[start : start + _BATCH]]


def write_plan_bytes(plan: ShardPlan) -> bytes:
    """The plan file's bytes: deterministic, one shard a line."""
    buffer = io.BytesIO()
    write_plan(plan_document(plan), buffer)
    return buffer.getvalue()


def _line_of(data: bytes, needle: bytes) -> int:
    at = data.find(needle)
    return 1 if at < 0 else data.count(b"\n", 0, at) + 1


def _plan_diagnostic(
    path: Path, code: str, message: str, line: int = 1, column: int = 1
) -> Diagnostic:
    return Diagnostic(
        path=path.as_posix(),
        line=line,
        column=column,
        severity="error",
        code=code,
        message=message,
        pointer="/plan_id" if code == "SP603" else "",
    )


_JSON_ERROR_POSITION = re.compile(r"line (\d+) column (\d+)")


def parse_plan(data: bytes, path: Path) -> ShardPlan:
    """Validate a plan's bytes and check its `plan_id` (raises `PlanError`)."""
    try:
        plan = ShardPlan.model_validate_json(data)
    except ValidationError as error:
        problems = error.errors(include_url=False)
        if problems and problems[0].get("type") == "json_invalid":
            message = str(problems[0]["msg"])
            # The JSON parser says where it stopped only in its message ("... at line 18 column 318").
            where = _JSON_ERROR_POSITION.search(message)
            line, column = (int(where[1]), int(where[2])) if where else (1, 1)
            raise PlanError(
                _plan_diagnostic(
                    path, "SP601", f"the plan is not JSON: {message}", line, max(column, 1)
                )
            ) from error
        old_format = _older_format(problems)
        if old_format is not None:
            raise PlanError(
                _plan_diagnostic(
                    path,
                    "SP602",
                    f"this plan is {old_format}, which this shardplan does not read (it reads "
                    f"{PLAN_FORMAT}); recompile it with `shardplan compile SPEC -o PLAN`",
                    _line_of(data, b'"format"'),
                )
            ) from error
        shown = "; ".join(
            f"{'/'.join(str(p) for p in item['loc']) or '(top level)'}: {item['msg']}"
            for item in problems[:5]
        )
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise PlanError(
            _plan_diagnostic(path, "SP602", f"not a {PLAN_FORMAT} plan: {shown}{more}")
        ) from error
    expected = compute_plan_id(plan.model_dump(mode="json"))
    if expected != plan.plan_id:
        raise PlanError(
            _plan_diagnostic(
                path,
                "SP603",
                f"plan_id {plan.plan_id} does not match the plan's content ({expected}); "
                "the plan was edited or corrupted after it was compiled: compile it again",
                _line_of(data, b'"plan_id"'),
            )
        )
    problem = structure_problem(plan)
    if problem is not None:
        raise PlanError(
            _plan_diagnostic(
                path,
                "SP606",
                f"the plan's structure is not one shardplan writes: {problem}; a plan_id proves "
                "nothing about who wrote it: recompile the plan from its spec and source",
            )
        )
    return plan


def _older_format(problems: list[ErrorDetails]) -> str | None:
    """The `format` of a plan from another shardplan (`shardplan/1`), when that is what failed."""
    for problem in problems:
        value = problem.get("input")
        if (
            problem["loc"] == ("format",)
            and isinstance(value, str)
            and value.startswith("shardplan/")
            and value != PLAN_FORMAT
        ):
            return value
    return None


def read_plan_bytes(path: Path) -> bytes:
    """A plan file's bytes (raises `PlanError` SP601 when it cannot be read)."""
    try:
        return path.read_bytes()
    except IsADirectoryError as error:
        raise PlanError(
            _plan_diagnostic(path, "SP601", "cannot read the plan: it is a directory")
        ) from error
    except OSError as error:
        raise PlanError(
            _plan_diagnostic(path, "SP601", f"cannot read the plan: {error.strerror or error}")
        ) from error


def load_plan(path: Path) -> ShardPlan:
    """Read, validate and verify a plan file (raises `PlanError`)."""
    return parse_plan(read_plan_bytes(path), path)
