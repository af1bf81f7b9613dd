"""The fast canonical encoder (orjson) writes the standard library's bytes for plan values."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st
from pydantic import JsonValue

from shardplan_schemas.canonical import canonical_json, canonical_json_stdlib, compute_plan_id

# Every character class that escaping could treat differently: ASCII, controls, quotes and
# backslashes, DEL, Latin-1, the JSON-vs-JS separators U+2028/9, CJK and astral characters.
_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0, max_codepoint=0x7F),
        st.sampled_from("\u2028\u2029\u00e9\u3042\u6f22\U0001f600\U00010000\ufeff\ufffd"),
        st.characters(codec="utf-8"),
    ),
    max_size=12,
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    _TEXT,
)
PLAN_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(_TEXT, children, max_size=5)
    ),
    max_leaves=40,
)


@given(PLAN_VALUES)
def test_orjson_canonical_form_is_the_standard_librarys(value: object) -> None:
    assert canonical_json(value) == canonical_json_stdlib(value)  # type: ignore[arg-type]


@given(st.integers(min_value=2**64, max_value=2**80))
def test_integers_beyond_64_bits_fall_back_to_the_standard_form(value: int) -> None:
    assert canonical_json({"n": value}) == canonical_json_stdlib({"n": value})


def test_plan_id_of_a_non_ascii_plan_is_the_stdlib_hash() -> None:
    plan: dict[str, JsonValue] = {
        "plan_id": "x",
        "spec": {"path": "シナリオ/台本.yaml"},
        "phases": [{"é": "\u2028"}],
    }
    expected = hashlib.sha256(
        canonical_json_stdlib({k: v for k, v in plan.items() if k != "plan_id"})
    ).hexdigest()
    assert compute_plan_id(plan) == "sha256:" + expected
