"""The fast "certainly valid" check agrees with the models it stands in for."""

from __future__ import annotations

import copy
import math
import types
from pathlib import Path
from typing import Annotated, Literal, Union, get_args, get_origin

import annotated_types
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, StringConstraints, ValidationError
from pydantic.fields import FieldInfo

from shardplan_compiler.quick_check import (
    SPEC_RULE,
    BoolRule,
    ChoiceRule,
    FieldRule,
    FloatRule,
    IntRule,
    ListRule,
    ModelRule,
    Rule,
    StrRule,
    accepts,
    certainly_clean,
)
from shardplan_schemas.spec import PipelineSpec
from shardplan_schemas.spec_rules import spec_rule_violations

from .test_properties import mutated_specs, valid_specs

ROOT = Path(__file__).resolve().parents[2]


def _constraints(metadata: list[object]) -> dict[str, object]:
    found: dict[str, object] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):
            found.update(_constraints(list(item.metadata)))
        elif isinstance(item, StringConstraints):
            for name in ("min_length", "max_length", "pattern"):
                if getattr(item, name) is not None:
                    found[name] = getattr(item, name)
        elif isinstance(item, annotated_types.Gt):
            found["gt"] = item.gt
        elif isinstance(item, annotated_types.Ge):
            found["ge"] = item.ge
        elif isinstance(item, annotated_types.Le):
            found["le"] = item.le
        elif isinstance(item, annotated_types.MinLen):
            found["min_length"] = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            found["max_length"] = item.max_length
        else:
            raise AssertionError(f"quick_check does not know the constraint {item!r}")
    return found


def _rule_of(annotation: object, metadata: list[object]) -> tuple[Rule, bool]:
    """The rule for a field's annotation, and whether it may be null."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        return _rule_of(base, [*metadata, *extra])
    if origin in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        assert len(members) == 1, annotation
        return _rule_of(members[0], metadata)[0], True
    found = _constraints(metadata)
    if origin is Literal:
        return ChoiceRule(get_args(annotation)), False
    if origin is list:
        item, _ = _rule_of(get_args(annotation)[0], [])
        return ListRule(item, found.get("min_length"), found.get("max_length")), False  # type: ignore[arg-type]
    if annotation is bool:
        return BoolRule(), False
    if annotation is int:
        return IntRule(found.get("gt"), found.get("ge"), found.get("le")), False  # type: ignore[arg-type]
    if annotation is float:
        return FloatRule(found.get("ge"), found.get("le")), False  # type: ignore[arg-type]
    if annotation is str:
        return (
            StrRule(found.get("min_length"), found.get("max_length"), found.get("pattern")),  # type: ignore[arg-type]
            False,
        )
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _derive(annotation), False
    raise AssertionError(f"quick_check does not know the type {annotation!r}")


def _derive(model: type[BaseModel]) -> ModelRule:
    fields = []
    for name, info in model.model_fields.items():
        rule, nullable = _rule_of(info.annotation, list(info.metadata))
        fields.append((name, FieldRule(rule, required=info.is_required(), nullable=nullable)))
    return ModelRule(tuple(fields))


def test_rule_table_is_the_models() -> None:
    assert _derive(PipelineSpec) == SPEC_RULE


def _model_accepts(data: object) -> bool:
    try:
        PipelineSpec.model_validate(data)
    except ValidationError:
        return False
    return True


TRICKY = [
    True, False, None, 0, 1, -1, 2, 1.0, 1.5, math.nan, math.inf, 10**40, "", "1", "en", "en\n",
    "EN", "no", "x" * 201, "pt-BR", [], ["en"], {}, {"strategy": "chunk"}, 10_000, 10_001,
    1_000_000, 1_000_001, "chunk", "ingest", "a_b", "A",
]  # fmt: skip


def _tricky(draw: st.DrawFn) -> object:
    """A copy: a later perturbation may edit it in place, and TRICKY must stay as it is."""
    return copy.deepcopy(draw(st.sampled_from(TRICKY)))


@st.composite
def perturbed_specs(draw: st.DrawFn) -> object:
    data: object = copy.deepcopy(draw(valid_specs()))
    for _ in range(draw(st.integers(1, 3))):
        target = data
        path: list[object] = []
        while isinstance(target, dict | list) and target and draw(st.booleans()):
            key = draw(
                st.sampled_from(list(target) if isinstance(target, dict) else range(len(target)))
            )
            path.append(key)
            target = target[key]
        if isinstance(target, dict):
            key = draw(st.sampled_from([*target, "extra"]))
            if draw(st.integers(0, 5)) == 0:
                target.pop(key, None)
            else:
                target[key] = _tricky(draw)
        elif isinstance(target, list) and target:
            target[draw(st.integers(0, len(target) - 1))] = _tricky(draw)
    return data


@settings(max_examples=400, deadline=None)
@given(perturbed_specs())
def test_what_the_quick_check_accepts_the_model_accepts(data: object) -> None:
    errors = [v for v in spec_rule_violations(data) if v.severity == "error"]
    quick = accepts(SPEC_RULE, data) and not errors
    model = _model_accepts(data)
    if quick:
        assert model, data
    elif model:
        # The only difference, on the safe side: `Literal[1]` takes any value equal to 1
        # (`true`, `1.0`); the quick check wants the integer (and `validate` refuses `true`).
        assert isinstance(data, dict), data
        version = data.get("version")
        assert version == 1, data
        assert type(version) is not int, data


@settings(max_examples=100, deadline=None)
@given(valid_specs())
def test_valid_specs_take_the_fast_path(data: dict[str, object]) -> None:
    assert accepts(SPEC_RULE, data)
    assert spec_rule_violations(data) == []


@settings(max_examples=100, deadline=None)
@given(mutated_specs())
def test_mutated_specs_do_not(case: tuple[dict[str, object], object]) -> None:
    data, _ = case
    assert not (accepts(SPEC_RULE, data) and not spec_rule_violations(data))


def test_certainly_clean_on_files() -> None:
    assert certainly_clean(ROOT / "examples" / "golden" / "golden.shardplan.yaml")
    for broken in sorted((ROOT / "examples" / "broken").glob("*.shardplan.yaml")):
        assert not certainly_clean(broken), broken.name
    assert not certainly_clean(ROOT / "does-not-exist.yaml")
    assert not certainly_clean(ROOT / "examples")
