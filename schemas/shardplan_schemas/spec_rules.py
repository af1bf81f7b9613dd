"""Cross-field rules of the pipeline spec (DESIGN §2) that no field type expresses.

The rules read plain data (what YAML or JSON decoding gives) and skip whatever
is not of the expected shape: type errors are the field validators' business.
That lets the compiler run them on a spec that has other errors too, so a user
sees every problem of a file in one run, each at its own position.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from shardplan_schemas.vocabulary import LLM_PHASES, PHASE_ORDER, Severity

PointerPart = str | int

SIZE_FIELD_OF_STRATEGY: dict[str, str | None] = {
    "full": None,
    "chunk": "chunk_size",
    "scene": "scene_batch_size",
    "route": "route_batch_size",
}
SIZE_FIELDS: tuple[str, ...] = ("chunk_size", "scene_batch_size", "route_batch_size")
NO_EXECUTION_PHASES: frozenset[str] = frozenset({"ingest", "export"})


@dataclass(frozen=True)
class RuleViolation:
    """One broken rule, located by a JSON pointer into the spec."""

    code: str
    pointer: tuple[PointerPart, ...]
    message: str
    severity: Severity = "error"

    @property
    def pointer_text(self) -> str:
        return "".join(f"/{part}" for part in self.pointer)


def spec_rule_violations(data: object) -> list[RuleViolation]:
    """Every cross-field rule violation in `data`, in document order."""
    if not isinstance(data, Mapping):
        return []
    violations: list[RuleViolation] = []
    violations.extend(_language_rules(data.get("languages")))
    phases = data.get("phases")
    if isinstance(phases, Sequence) and not isinstance(phases, str):
        violations.extend(_phase_order_rules(phases))
        for index, phase in enumerate(phases):
            if isinstance(phase, Mapping):
                violations.extend(_phase_rules(index, phase))
    return violations


def _language_rules(languages: object) -> Iterator[RuleViolation]:
    if not isinstance(languages, Mapping):
        return
    source = languages.get("source_language")
    targets = languages.get("target_languages")
    if not isinstance(targets, Sequence) or isinstance(targets, str):
        return
    seen: dict[str, int] = {}
    for index, target in enumerate(targets):
        if not isinstance(target, str):
            continue
        pointer = ("languages", "target_languages", index)
        if target == source:
            yield RuleViolation(
                "SP321",
                pointer,
                f"target language {target!r} is the source language; remove it from "
                "target_languages",
            )
        elif target in seen:
            yield RuleViolation(
                "SP320",
                pointer,
                f"target language {target!r} is listed twice (first at index {seen[target]}); "
                "remove the duplicate",
            )
        seen.setdefault(target, index)


def _phase_order_rules(phases: Sequence[object]) -> Iterator[RuleViolation]:
    rank = {name: position for position, name in enumerate(PHASE_ORDER)}
    seen: dict[str, int] = {}
    highest: tuple[int, str] | None = None
    for index, phase in enumerate(phases):
        if not isinstance(phase, Mapping):
            continue
        name = phase.get("phase")
        if not isinstance(name, str) or name not in rank:
            continue
        pointer = ("phases", index, "phase")
        if name in seen:
            yield RuleViolation(
                "SP303",
                pointer,
                f"phase {name!r} appears twice (first at /phases/{seen[name]}); "
                "each phase may appear once — merge the two entries",
            )
            continue
        seen[name] = index
        if highest is not None and rank[name] < highest[0]:
            yield RuleViolation(
                "SP304",
                pointer,
                f"phase {name!r} comes after {highest[1]!r}; phases run in the order "
                + ", ".join(PHASE_ORDER)
                + f" — move {name!r} before {highest[1]!r}",
            )
        elif highest is None or rank[name] > highest[0]:
            highest = (rank[name], name)


def _phase_rules(index: int, phase: Mapping[str, object]) -> Iterator[RuleViolation]:
    # A name of the wrong type (`phase: []`) is the model's finding; the rules
    # treat it as absent rather than hashing it into the sets below.
    name = phase.get("phase") if isinstance(phase.get("phase"), str) else None
    enabled = phase.get("enabled", True)
    agents = phase.get("agents")
    base: tuple[PointerPart, ...] = ("phases", index)
    if name in NO_EXECUTION_PHASES:
        if agents is not None:
            yield RuleViolation(
                "SP306",
                (*base, "agents"),
                f"phase {name!r} runs no agents; remove `agents`",
            )
        if "execution" in phase:
            yield RuleViolation(
                "SP307",
                (*base, "execution"),
                f"`execution` has no effect on phase {name!r}: it always runs as one `full` "
                "unit; remove it",
                severity="warning",
            )
        return
    if name in LLM_PHASES and enabled is not False:
        if agents is None:
            yield RuleViolation(
                "SP305",
                (*base, "phase"),
                f"enabled phase {name!r} needs `agents`: list the agents it runs, "
                "or set `enabled: false`",
            )
        elif isinstance(agents, Sequence) and not isinstance(agents, str) and len(agents) == 0:
            yield RuleViolation(
                "SP305",
                (*base, "agents"),
                f"enabled phase {name!r} needs at least one agent in `agents`, "
                "or set `enabled: false`",
            )
    execution = phase.get("execution")
    if isinstance(execution, Mapping):
        yield from _execution_rules((*base, "execution"), execution)


def _execution_rules(
    base: tuple[PointerPart, ...], execution: Mapping[str, object]
) -> Iterator[RuleViolation]:
    strategy = execution.get("strategy", "full")
    if not isinstance(strategy, str) or strategy not in SIZE_FIELD_OF_STRATEGY:
        return
    own_field = SIZE_FIELD_OF_STRATEGY[strategy]
    if strategy == "chunk" and "chunk_size" not in execution:
        yield RuleViolation(
            "SP310",
            (*base, "strategy") if "strategy" in execution else base,
            "strategy 'chunk' needs `chunk_size` (lines per shard), e.g. `chunk_size: 25`",
        )
    if execution.get("boundaries") == "content" and own_field is None:
        yield RuleViolation(
            "SP312",
            (*base, "boundaries"),
            "`boundaries: content` needs lines or runs to cut between, and strategy 'full' "
            + ("is one shard" if "strategy" in execution else "(the default) is one shard")
            + ": use strategy chunk, scene or route, or remove `boundaries`",
        )
    for field in SIZE_FIELDS:
        if field in execution and field != own_field:
            hint = f"; use `{own_field}` instead" if own_field else ""
            yield RuleViolation(
                "SP311",
                (*base, field),
                f"`{field}` is not allowed with strategy {strategy!r}{hint}",
            )
