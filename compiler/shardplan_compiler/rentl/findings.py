"""What the import reports about a rentl.toml: what rentl would reject, and what it gets wrong silently.

Errors (the import writes nothing): what rentl 0.1.8 itself refuses
(wrong types, duplicate or out-of-order phases, missing agents, bad language
codes, a size on the wrong strategy) and what a shardplan spec cannot hold.
Warnings: what rentl accepts and then does differently from what the file
seems to say (an ignored key, an `execution` table without `strategy`,
`execution` on ingest/export, the route strategy on CSV input, context on
lines without scenes). One info lists what the spec does not carry.

Rules work on the raw TOML data, defensively, so that each one reports even
when other parts of the file are broken, and every finding names the path
of the key or value it is about; `importer` turns paths into positions.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from shardplan_compiler.rentl.config import (
    DEFAULT_EXECUTION,
    KNOWN_KEYS,
    NO_SHARD_PHASES,
    NOT_CARRIED,
)
from shardplan_compiler.rentl.toml_positions import TomlPath
from shardplan_schemas.primitives import MAX_CAP, MAX_SIZE
from shardplan_schemas.vocabulary import LLM_PHASES, PHASE_ORDER

SIZE_KEYS = ("chunk_size", "scene_batch_size", "route_batch_size")
ALLOWED_SIZES: dict[str, tuple[str, ...]] = {
    "full": (),
    "chunk": ("chunk_size",),
    "scene": ("scene_batch_size",),
    "route": ("route_batch_size",),
}
EXECUTION_KEYS = (*SIZE_KEYS, "strategy", "max_parallel_agents")
MAX_PROJECT_NAME = 200
MAX_AGENTS = 100
MAX_AGENT_NAME = 100
RETRY_BOUNDS: dict[str, float] = {"max_retries": 100, "backoff_s": 3600, "max_backoff_s": 86400}


@dataclass(frozen=True)
class Finding:
    """One finding about the value (or the key) at `path` of the rentl.toml."""

    code: str
    path: TomlPath
    message: str
    at: Literal["key", "value"] = "key"


def dotted(path: TomlPath) -> str:
    """`pipeline.phases[2].execution` for a path."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _table_name(path: TomlPath) -> str:
    return ".".join(part for part in path if isinstance(part, str))


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


def _phases(data: Mapping[str, object]) -> list[tuple[int, Mapping[str, object]]]:
    phases = _mapping(data.get("pipeline")).get("phases")
    if not isinstance(phases, list):
        return []
    return [(index, item) for index, item in enumerate(phases) if isinstance(item, Mapping)]


def _phase_name(phase: Mapping[str, object]) -> str | None:
    name = phase.get("phase")
    return name.strip() if isinstance(name, str) else None


def _enabled(phase: Mapping[str, object]) -> bool:
    return phase.get("enabled", True) is not False


# -- the model's own errors ---------------------------------------------------------------------


def model_findings(error: ValidationError) -> list[Finding]:
    """rentl's models' complaints (types, choices, patterns, missing keys), each at its place."""
    found: list[Finding] = []
    for item in error.errors(include_url=False):
        path: TomlPath = tuple(item["loc"])
        kind = item["type"]
        where = dotted(path) or "the file"
        value = item.get("input")
        if kind == "missing":
            found.append(
                Finding("SP710", path[:-1], f"`{where}` is missing; rentl requires it", "key")
            )
            continue
        if kind == "string_pattern_mismatch":
            message = (
                f"`{where}` = {_short(value)} is not a language code like `ja`, `en` or "
                "`pt-BR`; rentl refuses it"
            )
        elif kind in ("model_type", "dict_type"):
            message = f"`{where}` must be a table (got {_short(value)}); rentl refuses it"
        elif kind == "list_type":
            message = f"`{where}` must be an array (got {_short(value)}); rentl refuses it"
        elif kind == "literal_error":
            expected = item.get("ctx", {}).get("expected", "")
            message = f"`{where}` = {_short(value)} is not one of {expected}; rentl refuses it"
        else:
            message = f"`{where}`: {item['msg'].lower()} (got {_short(value)}); rentl refuses it"
        found.append(Finding("SP711", path, message, "value"))
    return found


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- unknown keys -------------------------------------------------------------------------------

_HINTS: dict[tuple[str, str], str] = {
    ("concurrency", "max_parallel_agents"): "rentl's cap is per phase: set it in the phase's "
    "execution table ([pipeline.phases.execution] max_parallel_agents)",
    ("pipeline.phases", "max_parallel_agents"): "it belongs in the phase's execution table",
}


def unknown_key_findings(data: Mapping[str, object]) -> list[Finding]:
    """Keys rentl's models drop without a word, with a did-you-mean."""
    found: list[Finding] = []
    _walk_unknown(data, (), found)
    return found


def _walk_unknown(table: Mapping[str, object], path: TomlPath, found: list[Finding]) -> None:
    name = _table_name(path)
    model = KNOWN_KEYS[name]
    fields = sorted(model.model_fields)
    for key, value in table.items():
        if key not in model.model_fields:
            found.append(Finding("SP730", (*path, key), _unknown_message(name, key, fields)))
            continue
        child = f"{name}.{key}" if name else key
        if child not in KNOWN_KEYS:
            continue
        if isinstance(value, Mapping):
            _walk_unknown(value, (*path, key), found)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    _walk_unknown(item, (*path, key, index), found)


def _unknown_message(table: str, key: str, fields: Sequence[str]) -> str:
    where = f"[{table}]" if table else "the top level"
    message = f"rentl ignores the unknown key `{key}` in {where}: it has no effect"
    hint = _HINTS.get((table, key))
    if hint is None and table == "pipeline.phases" and key in EXECUTION_KEYS:
        hint = f"`{key}` belongs in the phase's execution table"
    if hint is None:
        close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean `{close[0]}`?"
    if hint is None:
        hint = "known keys: " + ", ".join(fields)
    return f"{message}; {hint}"


# -- rentl's cross-field rules ------------------------------------------------------------------


def rule_findings(data: Mapping[str, object]) -> list[Finding]:
    """rentl's own cross-field checks (errors) and what it silently gets wrong (warnings)."""
    found = list(_language_rules(data))
    found += _phase_rules(data)
    return found


def _language_rules(data: Mapping[str, object]) -> Iterator[Finding]:
    languages = _mapping(_mapping(data.get("project")).get("languages"))
    targets = languages.get("target_languages")
    source = languages.get("source_language")
    if not isinstance(targets, list):
        return
    base: TomlPath = ("project", "languages", "target_languages")
    seen: set[str] = set()
    for index, target in enumerate(targets):
        if not isinstance(target, str):
            continue
        code = target.strip()
        if code in seen:
            yield Finding(
                "SP718",
                (*base, index),
                f"target language `{code}` is listed twice; rentl refuses duplicate targets",
                "value",
            )
        seen.add(code)
        if isinstance(source, str) and code == source.strip():
            yield Finding(
                "SP718",
                (*base, index),
                f"target language `{code}` is the source language; rentl refuses it",
                "value",
            )


def _phase_rules(data: Mapping[str, object]) -> list[Finding]:
    found: list[Finding] = []
    phases = _phases(data)
    pipeline = _mapping(data.get("pipeline"))
    has_default_model = isinstance(pipeline.get("default_model"), Mapping)
    input_format = _mapping(_mapping(data.get("project")).get("formats")).get("input_format")
    order: dict[str, int] = {name: rank for rank, name in enumerate(PHASE_ORDER)}
    seen: dict[str, int] = {}
    last_rank = -1
    for index, phase in phases:
        at: TomlPath = ("pipeline", "phases", index)
        name = _phase_name(phase)
        rank = order.get(name) if name is not None else None
        if name is not None and rank is not None:
            if name in seen:
                found.append(
                    Finding(
                        "SP712",
                        (*at, "phase"),
                        f"phase `{name}` appears twice (first as phases[{seen[name]}]); "
                        "rentl refuses duplicate phases",
                        "value",
                    )
                )
            elif rank < last_rank:
                found.append(
                    Finding(
                        "SP713",
                        (*at, "phase"),
                        f"phase `{name}` comes after `{PHASE_ORDER[last_rank]}`; rentl wants "
                        "the order " + ", ".join(PHASE_ORDER),
                        "value",
                    )
                )
            seen.setdefault(name, index)
            last_rank = max(last_rank, rank)
        found += _agents_rules(at, name, phase)
        if not has_default_model and _enabled(phase) and phase.get("model") is None:
            found.append(
                Finding(
                    "SP719",
                    at,
                    f"phase `{name}` has no `model` and [pipeline.default_model] is missing; "
                    "rentl refuses the file",
                )
            )
        execution = phase.get("execution")
        if isinstance(execution, Mapping):
            found += _execution_rules((*at, "execution"), name, phase, execution, input_format)
    return found


def _agents_rules(at: TomlPath, name: str | None, phase: Mapping[str, object]) -> list[Finding]:
    agents = phase.get("agents")
    if name in NO_SHARD_PHASES and agents is not None:
        return [
            Finding(
                "SP715",
                (*at, "agents"),
                f"`agents` on {name}: rentl refuses agents on ingest and export",
            )
        ]
    if name in LLM_PHASES and _enabled(phase) and not agents:
        return [
            Finding(
                "SP714",
                at,
                f"enabled phase `{name}` has no agents; rentl refuses it (add `agents = [...]` "
                "or `enabled = false`)",
            )
        ]
    return []


def _execution_rules(
    at: TomlPath,
    name: str | None,
    phase: Mapping[str, object],
    execution: Mapping[str, object],
    input_format: object,
) -> list[Finding]:
    found: list[Finding] = []
    strategy = execution.get("strategy", "full")
    if isinstance(strategy, str):
        strategy = strategy.strip()
    if strategy in ALLOWED_SIZES:
        for key in SIZE_KEYS:
            if key in execution and key not in ALLOWED_SIZES[str(strategy)]:
                found.append(
                    Finding(
                        "SP717",
                        (*at, key),
                        f"`{key}` is not allowed with strategy `{strategy}`"
                        + (" (no `strategy` means full)" if "strategy" not in execution else "")
                        + "; rentl refuses it",
                    )
                )
        if strategy == "chunk" and "chunk_size" not in execution:
            found.append(
                Finding(
                    "SP716",
                    (*at, "strategy"),
                    "strategy `chunk` needs `chunk_size`; rentl refuses it",
                    "value",
                )
            )
    if name in NO_SHARD_PHASES:
        found.append(
            Finding(
                "SP732",
                at,
                f"rentl ignores `execution` on {name}: it runs {name} without shards; "
                "the spec leaves it out",
            )
        )
        return found
    if "strategy" not in execution:
        found.append(
            Finding(
                "SP731",
                at,
                f"this execution table has no `strategy`, so rentl runs {name or 'the phase'} "
                "as ONE shard of every line (`full`), not its default"
                + (f" ({_default_text(name)})" if name in LLM_PHASES else "")
                + "; the spec says `strategy: full` — write the strategy you mean",
            )
        )
    if strategy == "route" and input_format == "csv" and _enabled(phase):
        found.append(
            Finding(
                "SP733",
                (*at, "strategy"),
                "rentl's CSV input has no `route_id` column, so every line lacks a route and "
                f'rentl fails {name or "this phase"} ("Route strategy requires route_id on all '
                'source lines"); use `scene` or `chunk`',
                "value",
            )
        )
    return found


def _default_text(name: str | None) -> str:
    for phase, (strategy, size) in DEFAULT_EXECUTION.items():
        if phase == name:
            return f"scene, batch {size}" if strategy == "scene" else f"chunk of {size} lines"
    return "full"


# -- what a spec cannot hold --------------------------------------------------------------------


def carry_findings(data: Mapping[str, object]) -> list[Finding]:
    """Values rentl accepts that a shardplan spec's bounds do not (DESIGN §2)."""
    found: list[Finding] = []
    name = _mapping(data.get("project")).get("project_name")
    if isinstance(name, str) and len(name.strip()) > MAX_PROJECT_NAME:
        found.append(
            Finding(
                "SP720",
                ("project", "project_name"),
                f"`project_name` has {len(name.strip())} characters; a shardplan spec "
                f"holds at most {MAX_PROJECT_NAME}",
                "value",
            )
        )
    retry = _mapping(data.get("retry"))
    for key, bound in RETRY_BOUNDS.items():
        value = retry.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and not value <= bound:
            found.append(
                Finding(
                    "SP720",
                    ("retry", key),
                    f"`retry.{key}` = {_short(value)} is over shardplan's bound {bound:g}",
                    "value",
                )
            )
    for index, phase in _phases(data):
        at: TomlPath = ("pipeline", "phases", index)
        agents = phase.get("agents")
        if isinstance(agents, list):
            if len(agents) > MAX_AGENTS:
                found.append(
                    Finding(
                        "SP720",
                        (*at, "agents"),
                        f"{len(agents)} agents; a shardplan phase holds at most {MAX_AGENTS}",
                    )
                )
            for position, agent in enumerate(agents):
                if isinstance(agent, str) and not _agent_name_ok(agent.strip()):
                    found.append(
                        Finding(
                            "SP720",
                            (*at, "agents", position),
                            f"agent name {_short(agent.strip())} is not snake_case (`^[a-z]"
                            f"[a-z0-9_]*$`, at most {MAX_AGENT_NAME} characters) as a "
                            "shardplan spec needs",
                            "value",
                        )
                    )
        execution = _mapping(phase.get("execution"))
        for key in (*SIZE_KEYS, "max_parallel_agents"):
            value = execution.get(key)
            bound = MAX_CAP if key == "max_parallel_agents" else MAX_SIZE
            if isinstance(value, int) and value > bound:
                found.append(
                    Finding(
                        "SP720",
                        (*at, "execution", key),
                        f"`{key}` = {_short(value)} is over shardplan's bound {bound:,}",
                        "value",
                    )
                )
    return found


def _agent_name_ok(name: str) -> bool:
    return len(name) <= MAX_AGENT_NAME and re.fullmatch(r"[a-z][a-z0-9_]*", name) is not None


# -- what the spec leaves out -------------------------------------------------------------------


def not_carried_finding(data: Mapping[str, object]) -> Finding | None:
    """One info listing every table or key the spec does not carry, at the first of them."""
    present: list[tuple[TomlPath, str]] = []
    phases = _phases(data)
    for name, what in NOT_CARRIED:
        parts = name.split(".")
        if parts[:2] == ["pipeline", "phases"]:
            for index, phase in phases:
                if parts[2] in phase:
                    present.append((("pipeline", "phases", index, parts[2]), what))
                    break
            continue
        node: object = data
        for part in parts:
            node = _mapping(node).get(part)
        if node is not None:
            present.append((tuple(parts), what))
    if not present:
        return None
    listed = ", ".join(what for _, what in present)
    return Finding(
        "SP740",
        present[0][0],
        f"not carried into the spec, which plans sharding only (rentl keeps using them): {listed}",
    )
