"""Reading a plan in streaming passes: its small parts as a model, its shards as arrays.

A million-line plan lists about 425,000 shards. One pydantic model per shard
took 7 s and a gigabyte; a whole-file `orjson.loads` still peaks at 350 MB of
dicts. So the compiler's layout (DESIGN §5: each phase's shards one canonical
JSON object a line, between `"shards": [` and the line closing the list) is
read one phase at a time: the rest of the file (the skeleton) is parsed
alone, with each phase's shard list replaced by a unique placeholder string,
then each phase's list is parsed, hashed into the `plan_id`, checked shard by
shard and kept as arrays (`PhaseShards`). Any other layout (a plan
re-indented by hand, say) is parsed whole and then goes through the very same
checks, so the layout changes only the cost, never the verdict.

The `plan_id` is the SHA-256 of the canonical JSON of the whole plan without
`plan_id`: the skeleton's canonical bytes, split at the placeholders, with
each phase's canonical shard list hashed in between.
"""

from __future__ import annotations

import hashlib
import operator
import re
import secrets
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter

import orjson
from pydantic import JsonValue, ValidationError

from shardplan_schemas.canonical import canonical_json
from shardplan_schemas.plan import PLAN_FORMAT, SHARD_KEY_PATTERN, PlanPhase, ShardPlan
from shardplan_schemas.plan_structure import MAX_CONTENT_FACTOR, PhaseChecker
from shardplan_schemas.vocabulary import FINGERPRINT_PATTERN, PHASE_ORDER

_KEY = re.compile(SHARD_KEY_PATTERN.removeprefix("^").removesuffix("$"))
_FINGERPRINT = re.compile(FINGERPRINT_PATTERN.removeprefix("^").removesuffix("$"))
_SHARD_FIELDS = frozenset({"end", "key", "sha256", "start"})
_KEY_MAX_LENGTH = 220
_REGION_START = re.compile(rb'"shards": \[\n')
_REGION_END = re.compile(rb"\n[ \t]*\]")


class PlanFormatError(Exception):
    """The plan is not what `shardplan compile` writes; `message` says why (no path)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class PhaseShards:
    """One phase's shards as arrays: `start`, `end` and the 32-hex fingerprint of each."""

    starts: array[int] = field(default_factory=lambda: array("q"))
    ends: array[int] = field(default_factory=lambda: array("q"))
    fingerprints: bytes = b""
    """32 ASCII hex characters per shard, in order."""

    def __len__(self) -> int:
        return len(self.starts)

    def fingerprint(self, index: int) -> str:
        return self.fingerprints[index * 32 : index * 32 + 32].decode("ascii")


@dataclass
class ReadPlan:
    """A plan whose id, model and structure were checked; shards as arrays.

    `plan.phases[i].shards` are empty: the shards are `shards[i]`.
    `keys[i]` holds the phase's shard keys joined by newlines, for `verify`
    to check against the source.
    """

    plan: ShardPlan
    shards: list[PhaseShards]
    keys: list[str]


def _json_error(error: orjson.JSONDecodeError, line_offset: int = 0) -> PlanFormatError:
    message = str(error)
    if "depth limit" in message or "recursion" in message:
        return PlanFormatError("not a plan (nested too deeply)")
    return PlanFormatError(f"not a JSON plan ({message})", error.lineno + line_offset)


def _split_regions(data: bytes, nonce: str) -> tuple[bytes, list[tuple[int, int, int]]] | None:
    """The skeleton (shard lists replaced by placeholders) and the regions' byte ranges.

    Each region is `(start, end, first line number)`. None when the file does
    not have the compiler's layout.
    """
    pieces: list[bytes] = []
    regions: list[tuple[int, int, int]] = []
    position = 0
    for match in _REGION_START.finditer(data):
        if match.start() < position:
            return None
        begin = match.end()
        closing = _REGION_END.search(data, begin)
        if closing is None:
            return None
        pieces.append(data[position : match.end() - 2])  # up to and without `[\n`
        pieces.append(b'"' + f"{nonce}-{len(regions)}".encode() + b'"')
        regions.append((begin, closing.start(), data.count(b"\n", 0, begin) + 1))
        position = closing.end()
    if not regions:
        return None
    pieces.append(data[position:])
    return b"".join(pieces), regions


def _shard_field_problem(raw: object, where: str) -> str | None:
    """A pydantic-like message for a shard that is not `{end, key, sha256, start}`, or None."""
    if not isinstance(raw, dict):
        return f"{where}: Input should be an object"
    for name in sorted(_SHARD_FIELDS - raw.keys()):
        return f"{where}/{name}: Field required"
    for name in sorted(raw.keys() - _SHARD_FIELDS):
        return f"{where}/{name}: Extra inputs are not permitted"
    key, sha, start, end = raw["key"], raw["sha256"], raw["start"], raw["end"]
    if type(key) is not str:
        return f"{where}/key: Input should be a valid string"
    if len(key) > _KEY_MAX_LENGTH:
        return f"{where}/key: String should have at most {_KEY_MAX_LENGTH} characters"
    if _KEY.fullmatch(key) is None:
        return f"{where}/key: String should match pattern '{SHARD_KEY_PATTERN}'"
    if type(sha) is not str:
        return f"{where}/sha256: Input should be a valid string"
    if _FINGERPRINT.fullmatch(sha) is None:
        return f"{where}/sha256: String should match pattern '{FINGERPRINT_PATTERN}'"
    if type(start) is not int:
        return f"{where}/start: Input should be a valid integer"
    if start < 0:
        return f"{where}/start: Input should be greater than or equal to 0"
    if type(end) is not int:
        return f"{where}/end: Input should be a valid integer"
    if end <= 0:
        return f"{where}/end: Input should be greater than 0"
    return None


@dataclass
class _Columns:
    """One phase's shards, column by column."""

    starts: array[int]
    ends: array[int]
    fingerprints: bytes
    keys: list[str]


_FIELD_GETTERS = tuple(map(itemgetter, ("key", "sha256", "start", "end")))
_HEX = re.compile("[0-9a-f]*")


def _columns_of_list(raw_shards: list[object], index: int) -> _Columns | str:
    """The columns of parsed shards, or the first field problem (in pydantic's words).

    The checks run as C-level `map`s over whole columns: one Python step per
    shard would cost seconds on a million-line plan. Only a plan that fails
    them is walked shard by shard, to name the first problem.
    """
    shards = raw_shards
    if shards and set(map(type, shards)) == {dict} and set(map(len, shards)) == {4}:  # type: ignore[arg-type]
        # Four fields each, and each of the four names present: exactly the shard's fields.
        try:
            keys, fingerprints, starts, ends = (
                list(map(getter, shards))  # type: ignore[arg-type]
                for getter in _FIELD_GETTERS
            )
        except KeyError:
            keys = []
        sound = bool(keys) and (
            set(map(type, keys)) == {str}
            and set(map(type, fingerprints)) == {str}
            and set(map(type, starts)) == {int}
            and set(map(type, ends)) == {int}
            and max(map(len, keys)) <= _KEY_MAX_LENGTH
            and all(map(_KEY.fullmatch, keys))
            and set(map(len, fingerprints)) == {32}
            and _HEX.fullmatch("".join(fingerprints)) is not None
            and min(starts) >= 0
            and min(ends) > 0
        )
        if sound:
            return _Columns(
                array("q", starts), array("q", ends), "".join(fingerprints).encode(), keys
            )
    if not shards:
        return _Columns(array("q"), array("q"), b"", [])
    for shard_index, raw in enumerate(shards):
        problem = _shard_field_problem(raw, f"/phases/{index}/shards/{shard_index}")
        if problem is not None:
            return problem
    raise AssertionError("a shard failed the column checks but not the field checks")


def _structure_problem(checker: PhaseChecker, columns: _Columns) -> str | None:
    """The phase's first structural problem; in C where the phase is sound, else shard by shard."""
    phase = checker.phase
    starts, ends = columns.starts, columns.ends
    count = len(starts)
    sound = phase.enabled and checker.line_count > 0 and count > 0
    prefix = phase.phase + ":"
    if sound:
        sound = (
            all(map(str.startswith, columns.keys, repeat(prefix)))
            and starts[0] == 0
            and starts[1:] == ends[:-1]
            and ends[-1] == checker.line_count
            and all(map(operator.lt, starts, ends))
        )
    size = checker.size
    if sound and size is not None:
        lengths = array("q", map(operator.sub, ends, starts))
        if checker.content:
            sound = max(lengths) <= size * MAX_CONTENT_FACTOR
        else:
            sound = lengths[:-1].count(size) == count - 1 and lengths[-1] <= size
    if sound:
        return None
    if count == 0:
        return checker.end_problem()
    keys = columns.keys
    for key, start, end in zip(keys, starts, ends, strict=True):
        problem = checker.shard_problem(key, start, end)
        if problem is not None:
            return problem
    return checker.end_problem()


class _Reader:
    """Hashes, checks and packs the shard lists, one phase at a time."""

    def __init__(self, plan: ShardPlan | None, model_problem: str | None) -> None:
        self.plan = plan
        self.model_problem = model_problem
        self.structure_problem: str | None = None
        self.shards: list[PhaseShards] = []
        self.keys: list[str] = []

    def add_phase(self, index: int, columns: _Columns | str) -> None:
        if isinstance(columns, str):
            self.model_problem = self.model_problem or columns
            return
        self.shards.append(PhaseShards(columns.starts, columns.ends, columns.fingerprints))
        self.keys.append("\n".join(columns.keys))
        if self.plan is None or self.model_problem is not None:
            return
        phase: PlanPhase = self.plan.phases[index]
        checker = PhaseChecker(phase, self.plan.source.line_count, len(columns.starts))
        if self.structure_problem is None:
            self.structure_problem = checker.header_problem() or _structure_problem(
                checker, columns
            )


def _skeleton_model(
    skeleton: dict[str, JsonValue], nonce: str
) -> tuple[ShardPlan | None, str | None]:
    """The plan model over the skeleton (placeholders as empty lists), or the first problem."""
    phases = skeleton.get("phases")
    emptied: dict[str, JsonValue] = dict(skeleton)
    if isinstance(phases, list):
        emptied["phases"] = [
            {**phase, "shards": []}
            if isinstance(phase, dict) and str(phase.get("shards")).startswith(nonce)
            else phase
            for phase in phases
        ]
    try:
        return ShardPlan.model_validate(emptied), None
    except ValidationError as error:
        first = error.errors()[0]
        location = "/".join(str(part) for part in first["loc"])
        return None, f"/{location}: {first['msg']} ({error.error_count()} error(s))"


def read_plan(data: bytes) -> ReadPlan:
    """Parse and check a plan's bytes: id, format, model, structure (not the source).

    Raises `PlanFormatError` for bad JSON, `PlanIdMismatch` for an edited plan,
    `PlanInvalid` for a plan that is not a valid one.
    """
    nonce = secrets.token_hex(16)
    split = _split_regions(data, nonce)
    skeleton: object
    loaders: list[Callable[[int], tuple[bytes, _Columns | str]]] = []
    if split is not None:
        skeleton_bytes, regions = split
        try:
            skeleton = orjson.loads(skeleton_bytes)
        except orjson.JSONDecodeError:
            skeleton = None  # not the layout after all: parse the whole file below
        if isinstance(skeleton, dict) and _placeholders_in_place(skeleton, nonce, len(regions)):
            region_loaders = {
                f"{nonce}-{number}": _region_loader(data, begin, end, line)
                for number, (begin, end, line) in enumerate(regions)
            }
            loaders = _detach_shard_lists(skeleton, nonce, region_loaders)
        else:
            split = None
    if split is None:
        try:
            skeleton = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise _json_error(error) from None
        if not isinstance(skeleton, dict):
            raise PlanFormatError(f"not a plan (a JSON {_json_kind(skeleton)}, expected an object)")
        loaders = _detach_shard_lists(skeleton, nonce)
    assert isinstance(skeleton, dict)
    declared = skeleton.get("plan_id")
    content = {key: value for key, value in skeleton.items() if key != "plan_id"}
    plan, model_problem = _skeleton_model(skeleton, nonce)
    reader = _Reader(plan, model_problem)
    hasher = hashlib.sha256()
    remainder = canonical_json(content)
    for index, load in enumerate(loaders):
        marker = b'"' + f"{nonce}-{index}".encode() + b'"'
        before, _, remainder = remainder.partition(marker)
        hasher.update(before)
        canonical, columns = load(index)
        hasher.update(canonical)
        reader.add_phase(index, columns)
    hasher.update(remainder)
    actual = "sha256:" + hasher.hexdigest()
    if declared != actual:
        raise PlanIdMismatch(declared, actual)
    declared_format = skeleton.get("format")
    if declared_format != PLAN_FORMAT:
        raise PlanOtherFormat(declared_format)
    if reader.model_problem is not None or reader.plan is None:
        raise PlanInvalid(reader.model_problem or "not a plan", structural=False)
    problem = _phase_order_problem(reader.plan) or reader.structure_problem
    if problem is not None:
        raise PlanInvalid(problem, structural=True)
    return ReadPlan(reader.plan, reader.shards, reader.keys)


def _phase_order_problem(plan: ShardPlan) -> str | None:
    previous = -1
    for phase in plan.phases:
        position = PHASE_ORDER.index(phase.phase)
        if position <= previous:
            return f"phase {phase.phase} is repeated or out of order"
        previous = position
    return None


class PlanIdMismatch(Exception):
    """The plan's content does not hash to its `plan_id`."""

    def __init__(self, declared: object, actual: str) -> None:
        super().__init__(actual)
        self.declared = declared
        self.actual = actual


class PlanOtherFormat(Exception):
    """The plan declares another format."""

    def __init__(self, declared: object) -> None:
        super().__init__(repr(declared))
        self.declared = declared


class PlanInvalid(Exception):
    """Not a valid plan: a model problem, or a structure the compiler never writes."""

    def __init__(self, problem: str, *, structural: bool) -> None:
        super().__init__(problem)
        self.problem = problem
        self.structural = structural


def _json_kind(value: object) -> str:
    return {list: "list", str: "str", int: "int", float: "float", bool: "bool"}.get(
        type(value), type(value).__name__
    )


def _placeholders_in_place(skeleton: dict[str, object], nonce: str, count: int) -> bool:
    """Each placeholder is some phase's `shards`, in phase order, and nothing else is one."""
    phases = skeleton.get("phases")
    if not isinstance(phases, list):
        return False
    found = 0
    for phase in phases:
        if not isinstance(phase, dict):
            continue
        shards = phase.get("shards")
        if isinstance(shards, str) and shards.startswith(nonce):
            if shards != f"{nonce}-{found}":
                return False
            found += 1
        elif not isinstance(shards, list) or shards:
            return False  # inline shards or no list: not the layout we read by regions
    return found == count


def _region_loader(
    data: bytes, begin: int, end: int, line: int
) -> Callable[[int], tuple[bytes, _Columns | str]]:
    """A phase's canonical shard list and columns: by regex when canonical, else parsed."""

    def load(index: int) -> tuple[bytes, _Columns | str]:
        try:
            value = orjson.loads(b"[" + data[begin:end] + b"]")
        except orjson.JSONDecodeError as error:
            raise _json_error(error, line - 1) from None
        assert isinstance(value, list)
        return canonical_json(value), _columns_of_list(value, index)

    return load


def _detach_shard_lists(
    skeleton: dict[str, object],
    nonce: str,
    regions: dict[str, Callable[[int], tuple[bytes, _Columns | str]]] | None = None,
) -> list[Callable[[int], tuple[bytes, _Columns | str]]]:
    """Give every phase's shard list a placeholder `<nonce>-<n>`; the n-th loader reads it.

    A list in the skeleton (inline, e.g. a disabled phase's `[]`) is handed
    back as it is; a placeholder of `_split_regions` stands for its region.
    Phases without a list get no placeholder (the model refuses them).
    """
    loaders: list[Callable[[int], tuple[bytes, _Columns | str]]] = []
    phases = skeleton.get("phases")
    if not isinstance(phases, list):
        return loaders
    for position, phase in enumerate(phases):
        if not isinstance(phase, dict):
            continue
        shards = phase.get("shards")
        if isinstance(shards, str) and regions is not None and shards in regions:
            loader = regions[shards]
        elif isinstance(shards, list):
            loader = _constant(shards)
        else:
            continue
        phases[position] = {**phase, "shards": f"{nonce}-{len(loaders)}"}
        loaders.append(loader)
    return loaders


def _constant(value: list[object]) -> Callable[[int], tuple[bytes, _Columns | str]]:
    def load(index: int) -> tuple[bytes, _Columns | str]:
        return canonical_json(value), _columns_of_list(value, index)  # type: ignore[arg-type]

    return load
