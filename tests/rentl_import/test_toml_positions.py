"""The scanner finds the keys tomllib reads, at their places, and never fails or hangs."""

from __future__ import annotations

import tomllib

from hypothesis import given, settings
from hypothesis import strategies as st

from shardplan_compiler.rentl.toml_positions import MAX_TOML_DEPTH, TomlPath, scan_positions

TEXT = """\
# a comment [not.a.table]
[project]
name = "a # not a comment"
"quoted.key" = 'x'
inline = { a = 1, b = [1, { c = 2 }] }
multi = \"\"\"
[not.a.table]
x = 1
\"\"\"

[[pipeline.phases]]
phase = "ingest"

[[pipeline.phases]]
phase = "translate"
[pipeline.phases.execution]
strategy = "chunk"
"""


def leaves(data: object, path: TomlPath = ()) -> set[TomlPath]:
    if isinstance(data, dict):
        return {p for key, value in data.items() for p in leaves(value, (*path, key))}
    if isinstance(data, list):
        return {p for index, item in enumerate(data) for p in leaves(item, (*path, index))}
    return {path}


def test_every_value_tomllib_reads_has_a_position() -> None:
    positions = scan_positions(TEXT)
    assert leaves(tomllib.loads(TEXT)) <= set(positions.values)
    assert positions.key(("pipeline", "phases", 1, "execution", "strategy")) == (17, 1)
    assert positions.value(("project", "inline", "b", 1, "c")) == (5, 33)
    assert positions.key(("project", "quoted.key")) == (4, 1)
    assert ("not", "a", "table") not in positions.keys
    assert positions.duplicates == []


def test_duplicates_and_depth() -> None:
    positions = scan_positions("[a]\nx = 1\n[a]\nx = 2\n")
    assert [(path, again) for path, _, again in positions.duplicates] == [
        (("a",), (3, 1)),
        (("a", "x"), (4, 1)),
    ]
    deep = "a = " + "[" * (MAX_TOML_DEPTH + 1) + "]" * (MAX_TOML_DEPTH + 1)
    assert scan_positions(deep).too_deep == (1, 5 + MAX_TOML_DEPTH)


keys = st.from_regex(r"[a-z_]{1,8}", fullmatch=True)
scalars = st.one_of(st.integers(-5, 5), st.booleans(), st.text(max_size=8))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.encode("unicode_escape").decode().replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"


@settings(max_examples=100)
@given(st.dictionaries(keys, st.dictionaries(keys, values, max_size=4), max_size=4))
def test_random_documents(tables: dict[str, dict[str, object]]) -> None:
    text = "".join(
        f"[{name}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in body.items())
        for name, body in tables.items()
    )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return
    positions = scan_positions(text)
    assert leaves(data) <= set(positions.values)
    lines = text.splitlines()
    for name, body in tables.items():
        for key in body:
            line, column = positions.key((name, key))
            assert lines[line - 1][column - 1 :].startswith(key)


@given(st.text(max_size=300))
def test_arbitrary_text_never_breaks_the_scanner(text: str) -> None:
    scan_positions(text)
