"""The spec template writes scalars that YAML (1.1, as shardplan reads it) reads back unchanged."""

from __future__ import annotations

import math

import yaml
from hypothesis import given
from hypothesis import strategies as st

from shardplan_compiler.rentl.spec_render import comment_text, yaml_float, yaml_string


@given(st.text())
def test_strings_read_back_as_written(value: str) -> None:
    assert yaml.safe_load(f"key: {yaml_string(value)}\n") == {"key": value}


def test_yaml_11_booleans_are_quoted() -> None:
    assert yaml_string("no") == '"no"'
    assert yaml_string("on") == '"on"'
    assert yaml_string("en") == "en"
    assert yaml_string("input/script.jsonl") == "input/script.jsonl"


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_read_back_as_floats(value: float) -> None:
    loaded = yaml.safe_load(f"key: {yaml_float(value)}\n")["key"]
    assert isinstance(loaded, float)
    assert loaded == value or (math.isclose(loaded, value) and value != 0)


@given(st.text())
def test_comment_text_stays_on_one_line(value: str) -> None:
    text = comment_text(value)
    assert len(f"# {text}".splitlines()) == 1
    assert yaml.safe_load(f"key: 1  # {text}\n") == {"key": 1}
