"""The compiler's source reader: formats, diagnostics at path:line, and parity with SourceLine."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shardplan_compiler.sources import read_source
from shardplan_schemas.source_formats import (
    SourceFormatError,
    describe_invalid_record,
    format_from_extension,
    read_source_lines,
)

from .helpers import GOLDEN_SOURCE


def codes_and_lines(path: Path, fmt: str) -> list[tuple[str, int]]:
    result = read_source(path, fmt)  # type: ignore[arg-type]
    return [(d.code, d.line) for d in result.diagnostics]


def test_golden_source_reads_clean() -> None:
    result = read_source(GOLDEN_SOURCE, "jsonl")
    assert result.diagnostics == []
    assert result.table is not None
    assert len(result.table) == 58
    assert len(result.table.digests) == 58 * 32
    assert len(read_source_lines(GOLDEN_SOURCE, "jsonl")) == 58


def test_jsonl_errors_name_their_lines(tmp_path: Path) -> None:
    source = tmp_path / "s.jsonl"
    source.write_text(
        '{"line_id": "a_1", "text": "ok"}\n'
        "\n"
        "{broken\n"
        '{"line_id": "Bad", "text": "x"}\n'
        '{"line_id": "a_1", "text": "again"}\n'
        '{"line_id": "a_2", "text": ""}\n'
        '{"line_id": "a_3", "text": "x", "colour": 1}\n',
        encoding="utf-8",
    )
    found = codes_and_lines(source, "jsonl")
    assert ("SP402", 3) in found
    assert ("SP403", 4) in found
    assert ("SP403", 6) in found
    assert ("SP403", 7) in found
    assert ("SP404", 5) in found
    duplicate = next(d for d in read_source(source, "jsonl").diagnostics if d.code == "SP404")
    assert f"{source.as_posix()}:5" in duplicate.message
    assert f"{source.as_posix()}:1" in duplicate.message
    assert read_source(source, "jsonl").table is None


def test_only_the_first_20_record_errors_are_listed(tmp_path: Path) -> None:
    source = tmp_path / "s.jsonl"
    source.write_text("".join("nope\n" for _ in range(300)), encoding="utf-8")
    found = codes_and_lines(source, "jsonl")
    assert [code for code, _ in found].count("SP402") == 20
    summary = [d for d in read_source(source, "jsonl").diagnostics if d.code == "SP406"]
    assert len(summary) == 1
    assert "300 in all" in summary[0].message


def test_binary_and_wrong_encoding_get_one_clear_error(tmp_path: Path) -> None:
    binary = tmp_path / "b.jsonl"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    assert codes_and_lines(binary, "jsonl") == [("SP401", 1)]
    utf16 = tmp_path / "u.csv"
    utf16.write_bytes("line_id,text\na_1,x\n".encode("utf-16"))
    assert codes_and_lines(utf16, "csv") == [("SP401", 1)]
    latin = tmp_path / "l.jsonl"
    latin.write_bytes(b'{"line_id": "a_1", "text": "ok"}\n{"line_id": "a_2", "text": "caf\xe9"}\n')
    found = read_source(latin, "jsonl").diagnostics
    assert [(d.code, d.line) for d in found] == [("SP401", 2)]
    assert "UTF-8" in found[0].message


def test_csv_multiline_bom_empty_cells_and_ragged_rows(tmp_path: Path) -> None:
    source = tmp_path / "s.csv"
    source.write_bytes(
        b"\xef\xbb\xbfline_id,scene_id,route_id,speaker,text\r\n"
        b'a_1,scene_1,,Aoi,"two\r\nlines"\r\n'
        b"a_2,scene_1,,,plain\r\n"
        b"a_3,scene_1,x\r\n"
        b'a_4,,,,"quoted, comma"\r\n'
    )
    result = read_source(source, "csv")
    assert [(d.code, d.line) for d in result.diagnostics] == [("SP402", 5)]
    good = tmp_path / "ok.csv"
    good.write_bytes(source.read_bytes().replace(b"a_3,scene_1,x\r\n", b""))
    parsed = read_source_lines(good, "csv")
    assert [line.line_id for line in parsed] == ["a_1", "a_2", "a_4"]
    assert parsed[0].text == "two\r\nlines"
    assert parsed[0].route_id is None
    assert parsed[1].speaker is None
    table = read_source(good, "csv").table
    assert table is not None
    assert list(table.line_numbers) == [2, 4, 5]


def test_csv_missing_columns(tmp_path: Path) -> None:
    source = tmp_path / "s.csv"
    source.write_text("id,words,colour\na_1,x,red\n", encoding="utf-8")
    found = read_source(source, "csv").diagnostics
    assert [(d.code, d.line) for d in found] == [("SP405", 1)]
    assert "`line_id`" in found[0].message
    assert "`colour`" not in found[0].message  # other columns go to metadata.extra


def test_txt_numbers_lines_and_skips_blanks(tmp_path: Path) -> None:
    source = tmp_path / "s.txt"
    source.write_bytes(b"first\r\n\r\n  \nsecond line\nthird")
    parsed = read_source_lines(source, "txt")
    assert [(line.line_id, line.text) for line in parsed] == [
        ("line_1", "first"),
        ("line_4", "second line"),
        ("line_5", "third"),
    ]
    table = read_source(source, "txt").table
    assert table is not None
    assert table.line_ids == ["line_1", "line_4", "line_5"]


def test_format_from_extension() -> None:
    assert format_from_extension("a/b.JSONL") == "jsonl"
    assert format_from_extension("b.csv") == "csv"
    assert format_from_extension("b.txt") == "txt"
    assert format_from_extension("b.json") is None


def test_read_source_lines_raises_with_the_line(tmp_path: Path) -> None:
    source = tmp_path / "s.jsonl"
    source.write_text('{"line_id": "a_1", "text": "x"}\n{"line_id": "a_1", "text": "y"}\n')
    with pytest.raises(SourceFormatError) as raised:
        read_source_lines(source, "jsonl")
    assert raised.value.line == 2


ID = st.one_of(
    st.sampled_from(["scene_1", "a_1_2", "Scene_1", "a1", "a_", "", "a_1\n", "x" * 199 + "_1"]),
    st.integers(),
    st.none(),
)
VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=3),
    st.lists(st.integers(), max_size=2),
)
RECORD = st.one_of(
    st.fixed_dictionaries(
        {"line_id": ID},
        optional={
            "text": st.one_of(st.text(max_size=4), st.integers(), st.none()),
            "scene_id": ID,
            "route_id": ID,
            "speaker": st.one_of(st.text(max_size=3), st.none(), st.integers(), st.just("s" * 501)),
            "metadata": st.one_of(
                st.none(), st.dictionaries(st.text(max_size=2), VALUE, max_size=2), VALUE
            ),
            "extra": VALUE,
        },
    ),
    VALUE,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(RECORD, min_size=1, max_size=6))
def test_fast_path_accepts_exactly_what_sourceline_accepts(records: list[object]) -> None:
    """The reader's hand-written checks must agree with the SourceLine model, record by record."""
    with tempfile.TemporaryDirectory() as directory:
        source = Path(directory) / "s.jsonl"
        source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        result = read_source(source, "jsonl")
    bad_lines = {d.line for d in result.diagnostics if d.code in ("SP402", "SP403")}
    expected_bad = {i + 1 for i, r in enumerate(records) if describe_invalid_record(r) is not None}
    assert bad_lines == expected_bad


@pytest.mark.parametrize(
    "content",
    [
        GOLDEN_SOURCE.read_bytes(),
        b'\xef\xbb\xbf{"line_id": "a_1", "text": "x"}\r\n\r\n{"line_id": "a_2", "text": "y"}\r',
        b'{"line_id": "a_1", "text": "x"}\n   \n{"line_id": "a_2", "text": "y"}\n\n',
    ],
)
def test_the_hashing_worker_gives_the_same_table(tmp_path: Path, content: bytes) -> None:
    """Hashing in a forked worker (large files) and in-process (small ones) agree exactly."""
    source = tmp_path / "s.jsonl"
    source.write_bytes(content)
    alone = read_source(source, "jsonl", parallel=False)
    forked = read_source(source, "jsonl", parallel=True)
    assert alone.table is not None
    assert forked.table is not None
    assert (forked.table.sha256, forked.table.digests) == (alone.table.sha256, alone.table.digests)
    assert forked.table.line_ids == alone.table.line_ids


def test_the_hashing_worker_on_txt(tmp_path: Path) -> None:
    source = tmp_path / "s.txt"
    source.write_bytes(b"one\r\n\r\ntwo\nthree")
    alone = read_source(source, "txt", parallel=False)
    forked = read_source(source, "txt", parallel=True)
    assert alone.table is not None
    assert forked.table is not None
    assert (forked.table.sha256, forked.table.digests) == (alone.table.sha256, alone.table.digests)


LINE = st.one_of(
    st.builds(
        lambda n, scene, route: json.dumps(
            {"line_id": f"line_{n}", "text": "t", "scene_id": scene, "route_id": route}
        ),
        st.integers(min_value=1, max_value=40),
        st.sampled_from(["scene_1", "scene_2", None]),
        st.sampled_from(["route_1", None]),
    ),
    st.sampled_from(["", "  ", "{broken", '{"line_id": "Bad", "text": "x"}', "[1]"]),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(LINE, min_size=1, max_size=60), st.booleans())
def test_reading_with_a_worker_equals_reading_alone(lines: list[str], worker_first: bool) -> None:
    """The worker reads segments from the end of the file; merged, it must equal one sequential read.

    With `worker_first` the worker reads every segment but the first, so its
    compact results and the segments it hands back (any with a problem) are
    always exercised; otherwise the two processes race as they do in use.
    """
    with tempfile.TemporaryDirectory() as directory:
        source = Path(directory) / "s.jsonl"
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
        alone = read_source(source, "jsonl", parallel=False)
        forked = read_source(source, "jsonl", parallel=True, worker_first=worker_first)
    assert forked.diagnostics == alone.diagnostics
    if alone.table is None:
        assert forked.table is None
        return
    assert forked.table is not None
    assert forked.table.line_ids == alone.table.line_ids
    assert list(forked.table.line_numbers) == list(alone.table.line_numbers)
    assert forked.table.digests == alone.table.digests
    assert forked.table.sha256 == alone.table.sha256
    assert forked.table.scene_runs == alone.table.scene_runs
    assert forked.table.route_runs == alone.table.route_runs


@st.composite
def id_sequences(draw: st.DrawFn) -> list[int]:
    """Line numbers for ids: ascending runs (the usual script), shuffles and repeats."""
    numbers = draw(st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=80))
    if draw(st.booleans()):
        numbers.sort()  # ascending, with repeats side by side
    return numbers


@settings(max_examples=60, deadline=None)
@given(id_sequences(), st.booleans())
def test_duplicate_line_ids_match_a_plain_reference(numbers: list[int], parallel: bool) -> None:
    """Every repeat is reported at its line, naming the first occurrence — in any id order.

    The reader skips its set of ids while ids ascend, and a forked worker reads
    the end of the file; neither shortcut may lose or invent a duplicate.
    """
    expected: list[tuple[int, int]] = []
    first: dict[int, int] = {}
    for line, number in enumerate(numbers, start=1):
        if number in first:
            expected.append((line, first[number]))
        first.setdefault(number, line)
    with tempfile.TemporaryDirectory() as directory:
        source = Path(directory) / "s.jsonl"
        source.write_text(
            "".join(json.dumps({"line_id": f"line_{n:04d}", "text": "t"}) + "\n" for n in numbers),
            encoding="utf-8",
        )
        result = read_source(source, "jsonl", parallel=parallel, worker_first=parallel)
    found = [d for d in result.diagnostics if d.code == "SP404"]
    shown = expected[:20]  # the reader lists the first 20 record errors one by one
    assert [d.line for d in found] == [line for line, _ in shown]
    for diagnostic, (_, earlier) in zip(found, shown, strict=True):
        assert f"repeats {source.as_posix()}:{earlier};" in diagnostic.message
