"""The real yaml-language-server, with our schema, marks the lines `shardplan validate` reports.

One server serves every example (start-up dominates the cost). The server is
configured as docs/editors.md tells users to: the schema associated with
`*.shardplan.yaml` / `shardplan.yaml`, YAML 1.1 (what the spec loader reads,
so `no` is a boolean), and the examples' own `$schema` modelines.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shardplan_compiler.codes import CODES
from shardplan_compiler.schema_export import CROSS_ITEM_CODES, schema_reports

from .example_specs import REPO, SPEC_SCHEMA, BrokenExample, broken_examples, valid_examples
from .yls import YLS_VERSIONS, LanguageServer, ensure_yaml_language_server

SHARDPLAN = Path(sys.executable).with_name("shardplan")

SETTINGS: dict[str, object] = {
    "yaml": {
        "validate": True,
        "hover": True,
        "completion": True,
        "format": {"enable": False},
        "schemaStore": {"enable": False},
        "yamlVersion": "1.1",
        "schemas": {SPEC_SCHEMA.as_uri(): ["*.shardplan.yaml", "shardplan.yaml"]},
    }
}


@pytest.fixture(scope="module", params=YLS_VERSIONS, ids=lambda v: f"yls-{v}")
def server(request: pytest.FixtureRequest) -> Iterator[LanguageServer]:
    if shutil.which("node") is None:
        pytest.skip("node is not installed; the yaml-language-server test needs it")
    entry = ensure_yaml_language_server(str(request.param))
    assert entry is not None, "node is present but npm is not: cannot install yaml-language-server"
    running = LanguageServer.start(entry, SETTINGS)
    running.initialize(REPO)
    yield running
    running.stop()


def _validate_lines(*paths: Path) -> dict[Path, set[int]]:
    """Per file, the lines of the errors `shardplan validate --format json` reports."""
    result = subprocess.run(
        [str(SHARDPLAN), "validate", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    lines: dict[Path, set[int]] = {path: set() for path in paths}
    for diagnostic in json.loads(result.stdout):
        if diagnostic["severity"] == "error":
            lines[Path(diagnostic["path"])].add(diagnostic["line"])
    return lines


@functools.cache
def _examples_validated() -> dict[Path, set[int]]:
    return _validate_lines(*(e.path for e in EXPRESSIBLE))


EXPRESSIBLE = [e for e in broken_examples() if schema_reports(e.code)]


@pytest.mark.parametrize("example", EXPRESSIBLE, ids=lambda e: e.name)
def test_broken_example_is_marked_on_the_lines_validate_reports(
    server: LanguageServer, example: BrokenExample
) -> None:
    expected = _examples_validated()[example.path]
    assert example.line in expected, "validate no longer reports the example's own line"
    diagnostics = server.open_and_wait(example.path)
    server.close(example.path)
    marked = {d.line for d in diagnostics}
    assert marked == expected, [(d.line, d.message) for d in diagnostics]


@pytest.mark.parametrize(
    "path",
    [
        *valid_examples(),
        *(e.path for e in broken_examples() if CODES[e.code].severity == "warning"),
    ],
    ids=lambda p: p.name,
)
def test_valid_example_shows_no_diagnostics(server: LanguageServer, path: Path) -> None:
    diagnostics = server.open_and_wait(path)
    server.close(path)
    assert [(d.line, d.message) for d in diagnostics] == []


def test_block_style_rules_land_on_the_same_lines(server: LanguageServer, tmp_path: Path) -> None:
    """Also guards against a silent pass: the schema reaches a file by its name alone."""
    spec = tmp_path / "shardplan.yaml"
    spec.write_text(
        "version: 1\n"
        "project: p\n"
        "source: {path: s.jsonl}\n"
        "languages: {source_language: ja, target_languages: [en]}\n"
        "phases:\n"
        "  - phase: ingest\n"
        "    agents: [reader]\n"
        "  - phase: context\n"
        "  - phase: translate\n"
        "    agent: [t]\n"
        "  - phase: qa\n"
        "    agents: [q]\n"
        "    execution:\n"
        "      strategy: chunk\n"
        "      route_batch_size: 2\n",
        encoding="utf-8",
    )
    diagnostics = server.open_and_wait(spec)
    server.close(spec)
    assert {d.line for d in diagnostics} == _validate_lines(spec)[spec] == {7, 8, 9, 10, 14, 15}
    assert (10, "Property agent is not allowed.") in {(d.line, d.message) for d in diagnostics}


def test_completion_offers_the_snippets_and_hover_documents_enum_values(
    server: LanguageServer, tmp_path: Path
) -> None:
    spec = tmp_path / "draft.shardplan.yaml"
    spec.write_text(
        "version: 1\n"
        "project: p\n"
        "source: {path: s.jsonl}\n"
        "languages: {source_language: ja, target_languages: [en]}\n"
        "phases:\n"
        "  - phase: translate\n"
        "    agents: [t]\n"
        "    execution:\n"
        "      \n"
        "  - \n",
        encoding="utf-8",
    )
    server.open_and_wait(spec)
    uri = spec.resolve().as_uri()

    def labels(line: int, character: int) -> set[str]:
        result = server.request(
            "textDocument/completion",
            {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}},
        )
        items = result["items"] if isinstance(result, dict) else result
        assert isinstance(items, list)
        return {str(item["label"]) for item in items}

    assert {"execution: chunk", "execution: route", "chunk_size", "strategy"} <= labels(8, 6)
    assert {"phase (LLM)", "phase (ingest/export)"} <= labels(9, 4)
    hover = server.request(
        "textDocument/hover",
        {"textDocument": {"uri": uri}, "position": {"line": 5, "character": 6}},
    )
    server.close(spec)
    assert isinstance(hover, dict)
    text = str(hover["contents"]["value"])
    assert "Translates, once per target language" in text  # markdownEnumDescriptions
    assert "in the order ingest, context" in text  # the property's own description


EDITOR_CATCHES = frozenset({"SP101", "SP102", "SP105", "SP106", "SP207"})
"""Reader-level problems the schema cannot state but yaml-language-server (YAML 1.1) marks itself."""


@pytest.mark.parametrize(
    "example",
    [e for e in broken_examples() if e.code in EDITOR_CATCHES],
    ids=lambda e: e.name,
)
def test_the_editor_marks_reader_problems_on_the_same_line(
    server: LanguageServer, example: BrokenExample
) -> None:
    diagnostics = server.open_and_wait(example.path)
    server.close(example.path)
    assert example.line in {d.line for d in diagnostics}, [(d.line, d.message) for d in diagnostics]


@pytest.mark.parametrize(
    "example",
    [e for e in broken_examples() if e.code in CROSS_ITEM_CODES],
    ids=lambda e: e.name,
)
def test_cross_item_rules_stay_unmarked_as_documented(
    server: LanguageServer, example: BrokenExample
) -> None:
    """If the editor starts to catch one, docs/editors.md and SCHEMA_LIMITS should say so."""
    diagnostics = server.open_and_wait(example.path)
    server.close(example.path)
    assert diagnostics == []
