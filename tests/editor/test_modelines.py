"""Every example spec starts with a modeline that points at the exported spec schema (issue 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .example_specs import EXAMPLES, SPEC_SCHEMA

SPECS = sorted([*EXAMPLES.rglob("*.shardplan.yaml"), *EXAMPLES.rglob("shardplan.yaml")])
PREFIX = b"# yaml-language-server: $schema="


def test_there_are_example_specs() -> None:
    assert len(SPECS) >= 10


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_example_starts_with_a_modeline_to_the_spec_schema(spec: Path) -> None:
    first_line = spec.read_bytes().split(b"\n", 1)[0]
    assert first_line.startswith(PREFIX), first_line
    target = first_line.removeprefix(PREFIX).decode("utf-8").strip()
    assert not Path(target).is_absolute(), "a modeline must work in every checkout"
    assert (spec.parent / target).resolve() == SPEC_SCHEMA
