"""Parity between the models and the exported spec schema (issue 5 item 6, issue 2 item 8).

- What the schema accepts, pydantic accepts, except the cross-item rules the
  schema cannot state (`CROSS_ITEM_CODES`: phase order, duplicate phases, a
  target equal to the source), kept in one place in `schema_export`.
- What pydantic accepts, the schema accepts: always.

The schema is checked with `jsonschema`'s draft-07 validator, format checking off.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

from shardplan_compiler.schema_export import CROSS_ITEM_CODES
from shardplan_schemas.spec import PipelineSpec
from shardplan_schemas.spec_rules import spec_rule_violations

from .schema_strategies import instances_of, loose_specs

REPO = Path(__file__).resolve().parents[2]
SPEC_SCHEMA = json.loads((REPO / "generated" / "pipeline-spec.schema.json").read_text("utf-8"))
VALIDATOR = jsonschema.Draft7Validator(SPEC_SCHEMA)

PARITY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _pydantic_accepts(instance: object) -> bool:
    try:
        PipelineSpec.model_validate(instance)
    except ValidationError:
        return False
    return True


def _cross_item_only(instance: object) -> bool:
    """The instance breaks rules, and every broken rule is one the schema cannot state."""
    codes = {v.code for v in spec_rule_violations(instance) if v.severity == "error"}
    return bool(codes) and codes <= CROSS_ITEM_CODES


@PARITY
@given(instances_of(SPEC_SCHEMA))
def test_what_the_schema_accepts_pydantic_accepts(instance: object) -> None:
    assert VALIDATOR.is_valid(instance)  # the strategy itself is sound
    assert _pydantic_accepts(instance) or _cross_item_only(instance), instance


@PARITY
@given(loose_specs())
def test_schema_and_pydantic_agree_on_loose_specs(instance: object) -> None:
    pydantic_ok = _pydantic_accepts(instance)
    schema_errors = [error.message for error in VALIDATOR.iter_errors(instance)]
    if pydantic_ok:
        assert schema_errors == [], instance
    elif not schema_errors:
        assert _cross_item_only(instance), instance


def test_the_loose_strategy_reaches_both_verdicts() -> None:
    """A parity test whose draws are all valid (or all invalid) would prove nothing."""
    seen: set[tuple[bool, bool]] = set()

    @settings(max_examples=200, deadline=None, database=None)
    @given(loose_specs())
    def collect(instance: object) -> None:
        seen.add((_pydantic_accepts(instance), VALIDATOR.is_valid(instance)))

    collect()
    assert {(True, True), (False, False)} <= seen


@pytest.mark.parametrize(
    ("instance_change", "why"),
    [
        ({"phases": [{"phase": "export"}, {"phase": "ingest"}]}, "phase order"),
        ({"phases": [{"phase": "ingest"}, {"phase": "ingest"}]}, "duplicate phase"),
        ({"languages": {"source_language": "ja", "target_languages": ["ja"]}}, "target = source"),
    ],
)
def test_the_documented_cross_item_exceptions_are_real(
    instance_change: dict[str, object], why: str
) -> None:
    """Each exception still holds: if the schema learns to state one, drop it from the list."""
    spec: dict[str, object] = {
        "version": 1,
        "project": "p",
        "source": {"path": "s.jsonl"},
        "languages": {"source_language": "ja", "target_languages": ["en"]},
        "phases": [{"phase": "ingest"}],
        **instance_change,
    }
    assert VALIDATOR.is_valid(spec), why
    assert not _pydantic_accepts(spec), why
    assert _cross_item_only(spec), why


@pytest.mark.parametrize(
    ("execution", "valid"),
    [
        ({"strategy": "chunk", "chunk_size": 5}, True),
        ({"strategy": "chunk"}, False),
        ({"strategy": "chunk", "chunk_size": 5, "scene_batch_size": 1}, False),
        ({"strategy": "scene"}, True),
        ({"strategy": "scene", "route_batch_size": 1}, False),
        ({"strategy": "route", "route_batch_size": 2}, True),
        ({"strategy": "route", "chunk_size": None}, False),
        ({}, True),
        ({"chunk_size": 3}, False),
        ({"strategy": "full", "max_parallel_agents": 2}, True),
        ({"strategy": "chunk", "chunk_size": 5, "boundaries": "content"}, True),
        ({"strategy": "scene", "boundaries": "content"}, True),
        ({"strategy": "full", "boundaries": "fixed"}, True),
        ({"strategy": "full", "boundaries": "content"}, False),
        ({"boundaries": "content"}, False),
        ({"strategy": "chunk", "chunk_size": 5, "boundaries": "contents"}, False),
    ],
)
def test_strategy_rules_in_schema_and_model(execution: dict[str, object], valid: bool) -> None:
    spec = {
        "version": 1,
        "project": "p",
        "source": {"path": "s.jsonl"},
        "languages": {"source_language": "ja", "target_languages": ["en"]},
        "phases": [{"phase": "translate", "agents": ["t"], "execution": execution}],
    }
    assert VALIDATOR.is_valid(spec) is valid
    assert _pydantic_accepts(spec) is valid


@pytest.mark.parametrize(
    ("phase", "valid"),
    [
        ({"phase": "context", "agents": ["a"]}, True),
        ({"phase": "context"}, False),
        ({"phase": "context", "agents": []}, False),
        ({"phase": "context", "agents": None}, False),
        ({"phase": "context", "enabled": False}, True),
        ({"phase": "edit", "enabled": False, "agents": []}, True),
        ({"phase": "ingest", "agents": ["a"]}, False),
        ({"phase": "export", "agents": []}, False),
        ({"phase": "export", "agents": None}, True),
        ({"phase": "export", "execution": {"strategy": "full"}}, True),
        ({"phase": "export", "execution": {"boundaries": "content"}}, True),
        # `execution` on ingest/export only warns (SP307): its strategy rules do not bind there
        ({"phase": "ingest", "execution": {"strategy": "chunk"}}, True),
        ({"phase": "export", "execution": {"strategy": "full", "chunk_size": 3}}, True),
        ({"phase": "export", "execution": {"strategy": "chunk", "chunk_size": "3"}}, False),
    ],
)
def test_agents_rules_in_schema_and_model(phase: dict[str, object], valid: bool) -> None:
    spec = {
        "version": 1,
        "project": "p",
        "source": {"path": "s.jsonl"},
        "languages": {"source_language": "ja", "target_languages": ["en"]},
        "phases": [phase],
    }
    assert VALIDATOR.is_valid(spec) is valid
    assert _pydantic_accepts(spec) is valid


def test_integral_floats_are_the_known_integer_divergence() -> None:
    """JSON Schema's `integer` includes 25.0; the models want a written integer (documented)."""
    spec = {
        "version": 1,
        "project": "p",
        "source": {"path": "s.jsonl"},
        "languages": {"source_language": "ja", "target_languages": ["en"]},
        "phases": [
            {"phase": "qa", "agents": ["q"], "execution": {"strategy": "chunk", "chunk_size": 25.0}}
        ],
    }
    assert VALIDATOR.is_valid(spec)
    assert not _pydantic_accepts(spec)
