"""`shardplan schema`: the drift check, byte determinism, and the editor-facing shape of the schemas."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from pydantic import BaseModel, Field

from shardplan_compiler.cli import main
from shardplan_compiler.schema_export import (
    SCHEMA_FILES,
    SCHEMA_LIMITS,
    EditorJsonSchema,
    exported_schemas,
)

REPO = Path(__file__).resolve().parents[2]
GENERATED = REPO / "generated"
FILENAMES = [schema_file.filename for schema_file in SCHEMA_FILES]

JsonObject = dict[str, object]


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["schema", *args])
    return result.exit_code, result.stdout, result.stderr


def _load(filename: str) -> JsonObject:
    data = json.loads((GENERATED / filename).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_committed_schemas_are_up_to_date() -> None:
    code, out, err = _run("--check", "--out", str(GENERATED))
    assert (code, err) == (0, ""), err
    assert "4 schemas up to date" in out


def test_the_four_design_files_are_exported() -> None:
    assert FILENAMES == [
        "pipeline-spec.schema.json",
        "source-line.schema.json",
        "shard-plan.schema.json",
        "events.schema.json",
    ]


def test_check_names_a_tampered_file_and_says_how_to_fix(tmp_path: Path) -> None:
    copy = tmp_path / "generated"
    shutil.copytree(GENERATED, copy)
    target = copy / "shard-plan.schema.json"
    target.write_bytes(target.read_bytes().replace(b'"minimum": 0', b'"minimum": 1', 1))
    code, _, err = _run("--check", "--out", str(copy))
    assert code == 1
    assert f"{target.as_posix()}: differs from the models" in err
    assert "pipeline-spec.schema.json" not in err
    assert "shardplan schema" in err
    assert "make schema" in err


def test_check_names_every_missing_file(tmp_path: Path) -> None:
    copy = tmp_path / "generated"
    shutil.copytree(GENERATED, copy)
    (copy / "events.schema.json").unlink()
    (copy / "source-line.schema.json").unlink()
    code, _, err = _run("--check", "--out", str(copy))
    assert code == 1
    assert f"{(copy / 'events.schema.json').as_posix()}: missing" in err
    assert f"{(copy / 'source-line.schema.json').as_posix()}: missing" in err


def test_check_catches_a_whitespace_only_change(tmp_path: Path) -> None:
    copy = tmp_path / "generated"
    shutil.copytree(GENERATED, copy)
    target = copy / "pipeline-spec.schema.json"
    target.write_bytes(target.read_bytes().rstrip(b"\n"))
    assert _run("--check", "--out", str(copy))[0] == 1


def test_export_writes_what_check_accepts(tmp_path: Path) -> None:
    out = tmp_path / "fresh"
    code, stdout, _ = _run("--out", str(out))
    assert code == 0
    assert sorted(path.name for path in out.iterdir()) == sorted(FILENAMES)
    assert all(f"wrote {(out / name).as_posix()}" in stdout for name in FILENAMES)
    assert _run("--check", "--out", str(out))[0] == 0
    assert "unchanged" in _run("--out", str(out))[1]


def test_default_out_is_generated_in_the_working_directory(tmp_path: Path) -> None:
    shardplan = [sys.executable, "-m", "shardplan_compiler", "schema"]
    subprocess.run(shardplan, check=True, capture_output=True, cwd=tmp_path)
    assert sorted(os.listdir(tmp_path / "generated")) == sorted(FILENAMES)
    subprocess.run([*shardplan, "--check"], check=True, capture_output=True, cwd=tmp_path)


def test_out_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = _run("--out", str(blocker))
    assert code == 2
    assert "not a directory" in err
    assert "Traceback" not in err


def test_export_is_byte_deterministic_across_processes(tmp_path: Path) -> None:
    """Another interpreter, another hash seed, another directory: the same bytes."""
    in_process = dict(exported_schemas())
    for seed in ("1", "2"):
        out = tmp_path / f"seed{seed}"
        subprocess.run(
            [sys.executable, "-m", "shardplan_compiler", "schema", "--out", str(out)],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=tmp_path,
        )
        assert {name: (out / name).read_bytes() for name in FILENAMES} == in_process


def test_bytes_are_two_space_indented_utf8_with_one_trailing_newline() -> None:
    for name, data in exported_schemas():
        text = data.decode("utf-8")
        assert text.endswith("}\n"), name
        assert not text.endswith("\n\n"), name
        assert text.splitlines()[1].startswith('  "$schema"'), name
        assert json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n" == text


@pytest.mark.parametrize("filename", FILENAMES)
def test_every_schema_is_valid_draft_07_with_an_id(filename: str) -> None:
    schema = _load(filename)
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["$id"] == f"https://shardplan.dev/schemas/1/{filename}"
    assert isinstance(schema.get("title"), str)


def _subschemas(node: object, path: str = "#") -> Iterator[tuple[str, JsonObject]]:
    """Every schema object in a schema (not data such as examples, defaults or snippets)."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key in ("examples", "default", "defaultSnippets", "const", "enum"):
                continue
            if key in ("properties", "definitions") and isinstance(value, dict):
                for name, child in value.items():
                    yield from _subschemas(child, f"{path}/{key}/{name}")
            else:
                yield from _subschemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _subschemas(item, f"{path}/{index}")


def _properties(schema: JsonObject) -> Iterator[tuple[str, JsonObject]]:
    """Every property schema, except those inside the rules' if/then clauses."""
    for path, node in _subschemas(schema):
        if "/allOf/" in path:
            continue
        properties = node.get("properties")
        if isinstance(properties, dict):
            for name, prop in properties.items():
                assert isinstance(prop, dict), f"{path}/properties/{name}"
                yield f"{path}/properties/{name}", prop


@pytest.mark.parametrize("filename", FILENAMES)
def test_no_auto_titles_no_anyof_noise_and_every_property_documented(filename: str) -> None:
    schema = _load(filename)
    for path, node in _subschemas(schema):
        if path != "#":
            assert "title" not in node, f"{path} has a title generated from a name"
        branches = node.get("anyOf")
        assert not (isinstance(branches, list) and {"type": "null"} in branches), path
    count = 0
    for path, prop in _properties(schema):
        count += 1
        description, markdown = prop.get("description"), prop.get("markdownDescription")
        assert isinstance(description, str), path
        assert isinstance(markdown, str), path
        assert description, path
        assert markdown, path
        assert "`" not in description, f"{path}: the plain description keeps code spans"
    assert count > 5


def test_spec_properties_have_examples_and_defaults_where_the_model_has_one() -> None:
    schema = _load("pipeline-spec.schema.json")
    for path, prop in _properties(schema):
        assert prop.get("examples"), f"{path} has no examples"
    execution = _execution_schema(schema)
    strategy = execution["properties"]
    assert isinstance(strategy, dict)
    assert strategy["strategy"]["default"] == "full"


def test_optionals_are_type_lists_with_null() -> None:
    execution = _execution_schema(_load("pipeline-spec.schema.json"))
    assert execution["type"] == ["object", "null"]
    properties = execution["properties"]
    assert isinstance(properties, dict)
    assert properties["chunk_size"]["type"] == ["integer", "null"]


@pytest.mark.parametrize("filename", FILENAMES)
def test_every_enum_value_is_documented(filename: str) -> None:
    enums = 0
    for path, node in _subschemas(_load(filename)):
        values = node.get("enum")
        if not isinstance(values, list) or "/allOf/" in path:
            continue
        enums += 1
        for key in ("enumDescriptions", "markdownEnumDescriptions"):
            docs = node.get(key)
            assert isinstance(docs, list), f"{path} {key}"
            assert len(docs) == len(values), f"{path} {key}"
            assert all(isinstance(doc, str) and doc for doc in docs), path
    assert enums >= (0 if filename == "source-line.schema.json" else 1)


def _execution_schema(spec_schema: JsonObject) -> JsonObject:
    phases = spec_schema["properties"]
    assert isinstance(phases, dict)
    execution = phases["phases"]["items"]["properties"]["execution"]
    assert isinstance(execution, dict)
    return execution


def test_snippets_offer_a_phase_and_an_execution_block() -> None:
    spec = _load("pipeline-spec.schema.json")
    phases = spec["properties"]
    assert isinstance(phases, dict)
    item = phases["phases"]["items"]
    assert [next(iter(s["body"])) for s in item["defaultSnippets"]] == ["phase", "phase"]
    snippets = _execution_schema(spec)["defaultSnippets"]
    assert isinstance(snippets, list)
    assert sorted(s["body"]["strategy"] for s in snippets) == ["chunk", "full", "route", "scene"]


def test_limits_are_real_codes() -> None:
    from shardplan_compiler.codes import CODES

    assert set(SCHEMA_LIMITS) <= set(CODES)


class _Point(BaseModel):
    """A point."""

    x: int = Field(description="X.")


class _Shape(BaseModel):
    """Two uses of one model keep a definition; one use of another is inlined."""

    start: _Point = Field(description="Start.")
    end: _Point = Field(description="End.")
    label: _Label | None = Field(default=None, description="Label.")


class _Label(BaseModel):
    """A label."""

    text: str = Field(description="Text.")


def test_multi_use_models_stay_definitions_and_single_use_models_are_inlined() -> None:
    schema = _Shape.model_json_schema(schema_generator=EditorJsonSchema)
    jsonschema.Draft7Validator.check_schema(schema)
    assert set(schema["definitions"]) == {"_Point"}
    properties = schema["properties"]
    assert properties["start"]["$ref"] == "#/definitions/_Point"
    assert properties["label"]["type"] == ["object", "null"]
    validator = jsonschema.Draft7Validator(schema)
    assert validator.is_valid({"start": {"x": 1}, "end": {"x": 2}, "label": None})
    assert not validator.is_valid({"start": {"x": "1"}, "end": {"x": 2}})
