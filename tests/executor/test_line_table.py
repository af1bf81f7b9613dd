"""The line table (ids, scenes, routes a line) and the blank-line check, against plain loops."""

from __future__ import annotations

from array import array

from hypothesis import given
from hypothesis import strategies as st
from pydantic import JsonValue

from shardplan_executor.source_index import _may_hold_blank_lines, _table_of

_NAMES = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "scene_1"]), st.integers(0, 2))
_RECORD = st.fixed_dictionaries(
    {"line_id": st.text(max_size=3)}, optional={"scene_id": _NAMES, "route_id": _NAMES}
)


@given(st.lists(st.lists(_RECORD, max_size=20), max_size=4))
def test_the_table_numbers_names_in_order_of_first_appearance(
    blocks: list[list[dict[str, JsonValue]]],
) -> None:
    table = _table_of(blocks)
    records = [record for block in blocks for record in block]
    for field, numbers, column in (
        ("scene_id", table.scene_numbers, table.scenes),
        ("route_id", table.route_numbers, table.routes),
    ):
        expected: dict[str, int] = {}
        numbered = []
        for record in records:
            value = record.get(field)
            if isinstance(value, str):
                numbered.append(expected.setdefault(value, len(expected) + 1))
            else:
                numbered.append(0)  # absent, null or not a string: no name
        assert numbers == expected
        assert column == array("l", numbered)
    assert table.id_hashes == array("q", [hash(record["line_id"]) for record in records])


@given(st.lists(st.text(alphabet=" \t\r\f\vx{}", max_size=4), min_size=1, max_size=6))
def test_the_blank_line_check_never_misses_a_line_that_starts_with_whitespace(
    lines: list[str],
) -> None:
    block = "".join(line + "\n" for line in lines).encode()
    starts_with_space = any(line[:1] in {" ", "\t", "\r", "\f", "\v", ""} for line in lines)
    assert _may_hold_blank_lines(block) == starts_with_space
