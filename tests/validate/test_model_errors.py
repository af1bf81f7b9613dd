"""Pydantic errors mapped to codes, exact nodes and helpful messages (SP2xx), and the rules (SP3xx)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import VALID, found, load_text


def test_unknown_key_points_at_the_key_with_ranked_suggestions(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, VALID.replace("  path: script.jsonl", "  path: a\n  fromat: csv"))
    assert found(loaded) == [("SP201", 5, 3)]
    assert loaded.diagnostics[0].pointer == "/source/fromat"
    assert "did you mean `format`?" in loaded.diagnostics[0].message


def test_unknown_key_that_belongs_elsewhere(tmp_path: Path) -> None:
    text = VALID.replace("  - phase: export\n", "  - phase: export\n    chunk_size: 3\n")
    loaded = load_text(tmp_path, text)
    assert found(loaded) == [("SP201", 14, 5)]
    assert "belongs under `execution`" in loaded.diagnostics[0].message


def test_unknown_key_without_a_close_match_lists_the_allowed_keys(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, VALID + "zzz: 1\n")
    assert found(loaded) == [("SP201", 14, 1)]
    assert "`phases`" in loaded.diagnostics[0].message


def test_missing_key_points_at_the_parent_key(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, VALID.replace("  source_language: ja\n", ""))
    assert found(loaded) == [("SP202", 5, 1)]
    assert loaded.diagnostics[0].pointer == "/languages/source_language"


def test_missing_top_level_key_points_at_the_document_start(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, "# comment\n" + VALID.replace("project: demo\n", ""))
    assert found(loaded) == [("SP202", 2, 1)]


def test_missing_key_in_a_list_item_points_at_the_item(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, VALID.replace("  - phase: export\n", "  - enabled: true\n"))
    assert found(loaded) == [("SP202", 13, 5)]
    assert loaded.diagnostics[0].pointer == "/phases/2/phase"


@pytest.mark.parametrize(
    ("old", "new", "position", "hint"),
    [
        ("chunk_size: 10", 'chunk_size: "10"', (12, 46), "a quoted number is a string"),
        ("chunk_size: 10", "chunk_size: 2.5", (12, 46), "whole number"),
        ("project: demo", "project: 12", (2, 10), "must be a string"),
        ("project: demo", "project:", (2, 9), "give it a value"),
        (
            "  - phase: export",
            "  - phase: export\n    enabled: 'false'",
            (14, 14),
            "quoted boolean",
        ),
        ("source:\n  path: script.jsonl", "source: script.jsonl", (3, 9), "a mapping"),
    ],
)
def test_wrong_types(
    tmp_path: Path, old: str, new: str, position: tuple[int, int], hint: str
) -> None:
    loaded = load_text(tmp_path, VALID.replace(old, new))
    assert found(loaded) == [("SP203", *position)]
    assert hint in loaded.diagnostics[0].message


@pytest.mark.parametrize(
    ("old", "new", "position"),
    [
        ("chunk_size: 10", "chunk_size: 0", (12, 46)),
        ("chunk_size: 10", "chunk_size: 1000001", (12, 46)),
        ("project: demo", "project: " + "x" * 201, (2, 10)),
        ("target_languages: [en, fr]", "target_languages: []", (7, 21)),
    ],
)
def test_out_of_range(tmp_path: Path, old: str, new: str, position: tuple[int, int]) -> None:
    assert found(load_text(tmp_path, VALID.replace(old, new))) == [("SP204", *position)]


def test_pattern_with_a_fix(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, VALID.replace("[en, fr]", "[en, pt_br]"))
    assert found(loaded) == [("SP205", 7, 26)]
    assert "did you mean `pt-BR`?" in loaded.diagnostics[0].message


def test_bad_choice_lists_the_choices(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, VALID.replace("phase: export", "phase: exprot"))
    assert found(loaded) == [("SP206", 13, 12)]
    message = loaded.diagnostics[0].message
    assert "`ingest`, `context`" in message
    assert "did you mean `export`?" in message


@pytest.mark.parametrize(
    ("old", "new", "position", "text"),
    [
        ("source_language: ja", "source_language: no", (6, 20), '"no"'),
        ("[en, fr]", "[en, on]", (7, 26), '"on"'),
        ("project: demo", "project: yes", (2, 10), '"yes"'),
        ("format: x", "format: off", (0, 0), '"off"'),
    ],
)
def test_yaml11_booleans_get_a_quoting_hint(
    tmp_path: Path, old: str, new: str, position: tuple[int, int], text: str
) -> None:
    spec = VALID.replace(old, new)
    if old == "format: x":
        spec = VALID.replace("  path: script.jsonl\n", "  path: script.jsonl\n  format: off\n")
        position = (5, 11)
    loaded = load_text(tmp_path, spec)
    assert found(loaded) == [("SP207", *position)]
    assert text in loaded.diagnostics[0].message


def test_real_booleans_are_not_flagged_as_yaml11(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, VALID.replace("[en, fr]", "[en, false]"))
    assert found(loaded) == [("SP203", 7, 26)]


@pytest.mark.parametrize("value", ["2", '"1"', "true", "[1]"])
def test_unsupported_version(tmp_path: Path, value: str) -> None:
    loaded = load_text(tmp_path, VALID.replace("version: 1", f"version: {value}"))
    assert found(loaded) == [("SP208", 1, 10)]


RULE_CASES = [
    (
        "SP303",
        "  - phase: export\n",
        "  - phase: translate\n    agents: [a]\n  - phase: export\n",
        (13, 12),
    ),
    ("SP304", "  - phase: export\n", "  - phase: context\n    agents: [a]\n", (13, 12)),
    ("SP305", "    agents: [direct_translator]\n", "", (10, 12)),
    ("SP305", "[direct_translator]", "[]", (11, 13)),
    ("SP306", "  - phase: ingest\n", "  - phase: ingest\n    agents: [x]\n", (10, 5)),
    ("SP307", "  - phase: export\n", "  - phase: export\n    execution: {}\n", (14, 5)),
    ("SP310", "{strategy: chunk, chunk_size: 10}", "{strategy: chunk}", (12, 27)),
    ("SP310", "{strategy: chunk, chunk_size: 10}", "{strategy: chunk}", (12, 27)),
    ("SP311", "{strategy: chunk, chunk_size: 10}", "{chunk_size: 10}", (12, 17)),
    ("SP311", "chunk_size: 10}", "chunk_size: 10, route_batch_size: 2}", (12, 50)),
    (
        "SP312",
        "{strategy: chunk, chunk_size: 10}",
        "{strategy: full, boundaries: content}",
        (12, 45),
    ),
    ("SP312", "{strategy: chunk, chunk_size: 10}", "{boundaries: content}", (12, 29)),
    ("SP320", "[en, fr]", "[en, fr, fr]", (7, 30)),
    ("SP321", "[en, fr]", "[ja, fr]", (7, 22)),
]


@pytest.mark.parametrize(("code", "old", "new", "position"), RULE_CASES)
def test_rules(tmp_path: Path, code: str, old: str, new: str, position: tuple[int, int]) -> None:
    assert old in VALID
    loaded = load_text(tmp_path, VALID.replace(old, new, 1))
    assert found(loaded) == [(code, *position)]


@pytest.mark.parametrize(
    "execution",
    [
        "{strategy: chunk, chunk_size: 10, boundaries: content}",
        "{strategy: scene, boundaries: content}",
        "{strategy: route, route_batch_size: 3, boundaries: content}",
        "{strategy: full, boundaries: fixed}",
        "{boundaries: fixed}",
    ],
)
def test_boundaries_that_have_something_to_cut_between_are_valid(
    tmp_path: Path, execution: str
) -> None:
    text = VALID.replace("{strategy: chunk, chunk_size: 10}", execution)
    loaded = load_text(tmp_path, text)
    assert found(loaded) == []
    assert loaded.spec is not None


def test_disabled_phase_needs_no_agents(tmp_path: Path) -> None:
    text = VALID.replace("    agents: [direct_translator]\n", "    enabled: false\n")
    assert found(load_text(tmp_path, text)) == []


def test_warning_only_spec_still_loads(tmp_path: Path) -> None:
    loaded = load_text(
        tmp_path, VALID.replace("  - phase: export\n", "  - phase: export\n    execution: {}\n")
    )
    assert [d.severity for d in loaded.diagnostics] == ["warning"]
    assert loaded.spec is not None


def test_every_error_in_one_run_sorted_and_rules_reported_despite_type_errors(
    tmp_path: Path,
) -> None:
    text = VALID.replace("project: demo", "project: 5").replace("[en, fr]", "[en, en]")
    text = text.replace("{strategy: chunk, chunk_size: 10}", "{strategy: chunk}")
    loaded = load_text(tmp_path, text)
    assert found(loaded) == [("SP203", 2, 10), ("SP320", 7, 26), ("SP310", 12, 27)]
    assert loaded.spec is None
    # the model's own combined `spec_rule` error is never shown
    assert all("SP3" not in d.message for d in loaded.diagnostics)


@pytest.mark.parametrize("name", ["[]", "{a: 1}", "[translate]"])
def test_phase_name_of_the_wrong_type_does_not_stop_the_rules(tmp_path: Path, name: str) -> None:
    text = VALID.replace("  - phase: ingest\n", f"  - phase: {name}\n").replace(
        "[en, fr]", "[en, en]"
    )
    loaded = load_text(tmp_path, text)
    assert found(loaded) == [("SP320", 7, 26), ("SP206", 9, 12)]
