"""A fast, conservative "certainly valid" check of a spec's plain data.

pre-commit runs `shardplan validate` in a fresh process on every commit, and
nearly every spec it sees is valid. Importing pydantic and building the spec
models costs several times more than reading the file, so `validate` first
asks this module whether the data is certainly valid; only when the answer is
"not certainly" does it load the models to find and explain the problems
(`spec_loading`). The answer errs one way only: `accepts` may say no to a
valid spec (then the models decide), never yes to an invalid one.

`SPEC_RULE` restates the field constraints of `shardplan_schemas.spec`. It is
not a second source of truth: a test derives the same table from the models
and fails on any difference, and property tests check that whatever
`accepts` admits, the model admits too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from shardplan_compiler.yaml_tree import parse_yaml, read_spec_file, read_spec_text
from shardplan_schemas.spec_rules import spec_rule_violations
from shardplan_schemas.vocabulary import PHASE_ORDER, Boundaries, SourceFormat, Strategy

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class IntRule:
    """An integer (never a boolean) within bounds."""

    gt: int | None = None
    ge: int | None = None
    le: int | None = None


@dataclass(frozen=True)
class FloatRule:
    """A finite number (int or float, never a boolean) within bounds."""

    ge: float | None = None
    le: float | None = None


@dataclass(frozen=True)
class StrRule:
    """A string with a length range and an optional pattern."""

    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class BoolRule:
    """`true` or `false`."""


@dataclass(frozen=True)
class ChoiceRule:
    """One of fixed values (a `Literal`), of exactly the values' types."""

    choices: tuple[object, ...]


@dataclass(frozen=True)
class ListRule:
    """A list of items that each follow `item`."""

    item: Rule
    min_length: int | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class FieldRule:
    """One field of a model."""

    rule: Rule
    required: bool = False
    nullable: bool = False


@dataclass(frozen=True)
class ModelRule:
    """A mapping with exactly these fields (unknown keys are errors)."""

    fields: tuple[tuple[str, FieldRule], ...]
    names: frozenset[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", frozenset(name for name, _ in self.fields))


Rule = IntRule | FloatRule | StrRule | BoolRule | ChoiceRule | ListRule | ModelRule

_LANGUAGE = StrRule(pattern=r"^[a-z]{2}(?:-[A-Z]{2})?$")
_SIZE = IntRule(gt=0, le=1_000_000)
_CAP = IntRule(gt=0, le=10_000)

SPEC_RULE = ModelRule(
    (
        ("version", FieldRule(ChoiceRule((1,)), required=True)),
        ("project", FieldRule(StrRule(1, 200), required=True)),
        (
            "source",
            FieldRule(
                ModelRule(
                    (
                        ("path", FieldRule(StrRule(1, 4096), required=True)),
                        ("format", FieldRule(ChoiceRule(get_args(SourceFormat)), nullable=True)),
                    )
                ),
                required=True,
            ),
        ),
        (
            "languages",
            FieldRule(
                ModelRule(
                    (
                        ("source_language", FieldRule(_LANGUAGE, required=True)),
                        ("target_languages", FieldRule(ListRule(_LANGUAGE, 1, 200), required=True)),
                    )
                ),
                required=True,
            ),
        ),
        (
            "concurrency",
            FieldRule(
                ModelRule(
                    (
                        ("max_parallel_agents", FieldRule(_CAP)),
                        ("max_consecutive_failures", FieldRule(_CAP)),
                    )
                )
            ),
        ),
        (
            "retry",
            FieldRule(
                ModelRule(
                    (
                        ("max_retries", FieldRule(IntRule(ge=0, le=100))),
                        ("backoff_s", FieldRule(FloatRule(ge=0, le=3600))),
                        ("max_backoff_s", FieldRule(FloatRule(ge=0, le=86400))),
                    )
                )
            ),
        ),
        (
            "phases",
            FieldRule(
                ListRule(
                    ModelRule(
                        (
                            (
                                "phase",
                                FieldRule(
                                    ChoiceRule(PHASE_ORDER),
                                    required=True,
                                ),
                            ),
                            ("enabled", FieldRule(BoolRule())),
                            (
                                "agents",
                                FieldRule(
                                    ListRule(StrRule(None, 100, r"^[a-z][a-z0-9_]*$"), None, 100),
                                    nullable=True,
                                ),
                            ),
                            (
                                "execution",
                                FieldRule(
                                    ModelRule(
                                        (
                                            (
                                                "strategy",
                                                FieldRule(ChoiceRule(get_args(Strategy))),
                                            ),
                                            (
                                                "boundaries",
                                                FieldRule(ChoiceRule(get_args(Boundaries))),
                                            ),
                                            ("chunk_size", FieldRule(_SIZE, nullable=True)),
                                            ("scene_batch_size", FieldRule(_SIZE, nullable=True)),
                                            ("route_batch_size", FieldRule(_SIZE, nullable=True)),
                                            ("max_parallel_agents", FieldRule(_CAP, nullable=True)),
                                        )
                                    ),
                                    nullable=True,
                                ),
                            ),
                        )
                    ),
                    1,
                    7,
                ),
                required=True,
            ),
        ),
    )
)


def _within(value: float, ge: float | None, le: float | None) -> bool:
    return (ge is None or value >= ge) and (le is None or value <= le)


def _length_ok(length: int, low: int | None, high: int | None) -> bool:
    return (low is None or length >= low) and (high is None or length <= high)


def accepts(rule: Rule, value: object) -> bool:
    """Whether `value` certainly satisfies `rule` (False when in any doubt)."""
    if isinstance(rule, ModelRule):
        if not isinstance(value, Mapping):
            return False
        if not rule.names.issuperset(value):
            return False
        for name, field_rule in rule.fields:
            if name not in value:
                if field_rule.required:
                    return False
                continue
            item = value[name]
            if item is None:
                if not field_rule.nullable:
                    return False
            elif not accepts(field_rule.rule, item):
                return False
        return True
    if isinstance(rule, ListRule):
        return (
            type(value) is list
            and _length_ok(len(value), rule.min_length, rule.max_length)
            and all(accepts(rule.item, item) for item in value)
        )
    if isinstance(rule, StrRule):
        if type(value) is not str or not _length_ok(len(value), rule.min_length, rule.max_length):
            return False
        # Python's `$` also matches before a final newline; the model's regex does not.
        return rule.pattern is None or (
            "\n" not in value and re.match(rule.pattern, value) is not None
        )
    if isinstance(rule, IntRule):
        return (
            type(value) is int
            and (rule.gt is None or value > rule.gt)
            and _within(value, rule.ge, rule.le)
        )
    if isinstance(rule, FloatRule):
        if type(value) is int:
            return _within(value, rule.ge, rule.le)
        return type(value) is float and math.isfinite(value) and _within(value, rule.ge, rule.le)
    if isinstance(rule, BoolRule):
        return type(value) is bool
    return any(type(value) is type(choice) and value == choice for choice in rule.choices)


def certainly_clean(path: Path) -> bool:
    """Whether the spec file at `path` certainly has no diagnostic at all (errors or warnings).

    Reads and parses the file without the models; any doubt, problem or
    warning answers False, and the caller then runs the full check.
    """
    raw, _ = read_spec_file(path)
    if raw is None:
        return False
    text, problem = read_spec_text(raw)
    if text is None or problem is not None:
        return False
    document = parse_yaml(text)
    if document.data is None or document.problems:
        return False
    return accepts(SPEC_RULE, document.data) and not spec_rule_violations(document.data)
