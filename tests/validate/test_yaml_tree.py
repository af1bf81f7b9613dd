"""The YAML layer: safety, structure and positions (SP1xx)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shardplan_compiler.yaml_tree import MAX_SPEC_BYTES, parse_yaml

from .helpers import VALID, found, load_text


def test_valid_spec_positions_point_at_keys_and_values() -> None:
    document = parse_yaml(VALID)
    assert document.problems == []
    positions = document.positions
    assert positions.locate(("phases", 1, "execution", "chunk_size")) == (12, 46)
    assert positions.locate_key(("phases", 1, "execution")) == (12, 5)
    assert positions.locate(("phases", 1)) == (10, 5)
    assert positions.locate(("languages", "target_languages", 1)) == (7, 26)
    # missing pointers fall back to the nearest existing ancestor
    assert positions.locate(("phases", 1, "execution", "nope", 3)) == (12, 16)
    assert positions.locate(("nothing",)) == (1, 1)


def test_duplicate_key_names_the_first_line(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, VALID.replace("project: demo\n", "project: demo\nproject: x\n"))
    assert found(loaded) == [("SP102", 3, 1)]
    assert "first on line 2" in loaded.diagnostics[0].message
    assert loaded.diagnostics[0].pointer == "/project"


def test_duplicate_nested_key_and_other_errors_reported_together(tmp_path: Path) -> None:
    text = VALID.replace("  path: script.jsonl\n", "  path: a.jsonl\n  path: b.jsonl\n")
    text = text.replace("version: 1", "version: 3")
    assert found(load_text(tmp_path, text)) == [("SP208", 1, 10), ("SP102", 5, 3)]


def test_multiple_documents(tmp_path: Path) -> None:
    assert found(load_text(tmp_path, VALID + "---\n" + VALID)) == [("SP103", 14, 1)]


@pytest.mark.parametrize(
    ("text", "position"), [("- a\n- b\n", (1, 1)), ("just text\n", (1, 1)), ("\n# c\n", (1, 1))]
)
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, position: tuple[int, int]) -> None:
    assert found(load_text(tmp_path, text)) == [("SP104", *position)]


@pytest.mark.parametrize(
    ("key", "hint"), [("yes", "YAML 1.1"), ("1", "an integer"), ("null", "null"), ("1.5", "number")]
)
def test_non_string_keys(tmp_path: Path, key: str, hint: str) -> None:
    loaded = load_text(tmp_path, VALID + f"{key}: 1\n")
    assert found(loaded) == [("SP105", 14, 1)]
    assert hint in loaded.diagnostics[0].message


def test_complex_key(tmp_path: Path) -> None:
    assert found(load_text(tmp_path, VALID + "? [a, b]\n: 1\n")) == [("SP105", 14, 3)]


@pytest.mark.parametrize(
    "value",
    [
        "!!python/object/apply:os.system [echo hi]",
        "!!python/name:os.system ''",
        "!!binary aGVsbG8=",
        "!custom demo",
        "!!set {a: null}",
    ],
)
def test_object_constructing_and_custom_tags_are_refused(tmp_path: Path, value: str) -> None:
    loaded = load_text(tmp_path, VALID.replace("project: demo", f"project: {value}"))
    assert found(loaded) == [("SP106", 2, 10)]


def test_explicit_standard_tags_are_fine(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, VALID.replace("project: demo", "project: !!str 2024-01-01"))
    assert found(loaded) == []
    assert loaded.spec is not None
    assert loaded.spec.project == "2024-01-01"


def test_implicit_timestamp_stays_text(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, VALID.replace("project: demo", "project: 2024-01-01"))
    assert found(loaded) == []


def test_merge_key(tmp_path: Path) -> None:
    text = VALID.replace("  path: script.jsonl\n", "  <<: {path: script.jsonl}\n")
    assert found(load_text(tmp_path, text)) == [("SP107", 4, 3)]


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    loaded = load_text(tmp_path, "\n".join(lines) + "\n")
    # a3 is the first to expand past the budget (10 x 1,111 repeated nodes)
    assert found(loaded) == [("SP108", 4, 1)]


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    assert found(load_text(tmp_path, VALID + "extra: &a [1, *a]\n")) == [("SP108", 14, 1)]


def test_small_aliases_are_expanded(tmp_path: Path) -> None:
    text = VALID.replace("  target_languages: [en, fr]", "  target_languages: &t [en, fr]")
    text += "unused: *t\n"
    assert [d.code for d in load_text(tmp_path, text).diagnostics] == ["SP201"]


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 20_000 + "]" * 20_000 + "\n",
        "a:\n  " + "- " * 20_000 + "x\n",
        "".join(" " * i + f"k{i}:\n" for i in range(1_200)),  # deeper is over 1 MiB
    ],
    ids=["flow", "block-sequence", "block-mapping"],
)
def test_twenty_thousand_levels_do_not_crash(tmp_path: Path, text: str) -> None:
    loaded = load_text(tmp_path, text)
    assert [d.code for d in loaded.diagnostics] == ["SP101"]
    assert "nesting depth" in loaded.diagnostics[0].message


def test_nesting_deeper_than_a_spec_needs(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, "project: " + "[" * 100 + "]" * 100 + "\n")
    assert found(loaded) == [("SP109", 1, 74)]


def test_syntax_error_position(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, "version: 1\nproject: [a, b\nsource: {}\n")
    assert [d.code for d in loaded.diagnostics] == ["SP101"]
    assert loaded.diagnostics[0].line == 3


def test_too_large_file(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, VALID + "#" * MAX_SPEC_BYTES + "\n")
    assert found(loaded) == [("SP100", 1, 1)]
    assert "1 MiB" in loaded.diagnostics[0].message


def test_not_utf8_points_at_the_byte(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, VALID.encode().replace(b"demo", b"d\xffmo"))
    assert found(loaded) == [("SP100", 2, 11)]


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    assert found(load_text(tmp_path, "\ufeff" + VALID)) == []


def test_missing_file_and_directory(tmp_path: Path) -> None:
    from shardplan_compiler.spec_loading import load_spec

    missing = load_spec(tmp_path / "nope.yaml")
    assert found(missing) == [("SP100", 1, 1)]
    assert "does not exist" in missing.diagnostics[0].message
    assert missing.raw is None
    directory = load_spec(tmp_path)
    assert found(directory) == [("SP100", 1, 1)]
    assert "directory" in directory.diagnostics[0].message


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    import os

    from shardplan_compiler.quick_check import certainly_clean
    from shardplan_compiler.spec_loading import load_spec

    fifo = tmp_path / "spec.shardplan.yaml"
    os.mkfifo(fifo)
    assert not certainly_clean(fifo)
    loaded = load_spec(fifo)
    assert found(loaded) == [("SP100", 1, 1)]
    assert "not a regular file" in loaded.diagnostics[0].message


def test_huge_file_is_refused(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, b"#" * (10 * MAX_SPEC_BYTES))
    assert found(loaded) == [("SP100", 1, 1)]
    assert "over 1,048,576 bytes" in loaded.diagnostics[0].message
