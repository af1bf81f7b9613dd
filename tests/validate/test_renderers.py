"""The four output formats, checked against what their consumers accept."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from shardplan_compiler.codes import CODES
from shardplan_compiler.render.diagnostics import render_diagnostics
from shardplan_compiler.render.github import escape_data, escape_property
from shardplan_compiler.render.sarif import artifact_location, sarif_log
from shardplan_schemas.diagnostics import Diagnostic


def diag(**changes: object) -> Diagnostic:
    fields: dict[str, object] = {
        "path": "specs/a.shardplan.yaml",
        "line": 3,
        "column": 5,
        "severity": "error",
        "code": "SP201",
        "message": "unknown key `x`",
        "pointer": "/x",
    }
    fields.update(changes)
    return Diagnostic.model_validate(fields)


def test_text_format_and_order() -> None:
    later = diag(line=9, column=1, code="SP202", message="line one\nline two")
    text = render_diagnostics([later, diag(severity="warning", code="SP307")], "text")
    assert text == (
        "specs/a.shardplan.yaml:3:5: warning[SP307] unknown key `x`\n"
        "specs/a.shardplan.yaml:9:1: error[SP202] line one line two\n"
    )
    assert render_diagnostics([], "text") == ""


def test_json_format_fields() -> None:
    rows = json.loads(render_diagnostics([diag()], "json"))
    assert rows == [
        {
            "path": "specs/a.shardplan.yaml",
            "line": 3,
            "column": 5,
            "severity": "error",
            "code": "SP201",
            "message": "unknown key `x`",
            "pointer": "/x",
        }
    ]
    assert json.loads(render_diagnostics([], "json")) == []


def test_github_escaping() -> None:
    assert escape_data("100% a\r\nb") == "100%25 a%0D%0Ab"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_github_commands() -> None:
    findings = [
        diag(path="dir,x/a:b.yaml", message="50% off\nnext: line, more"),
        diag(severity="warning", code="SP307"),
        diag(severity="info", code="SP505"),
    ]
    lines = render_diagnostics(findings, "github").splitlines()
    assert lines == [
        "::error file=dir%2Cx/a%3Ab.yaml,line=3,col=5,title=SP201 unknown-key::"
        "50%25 off%0Anext: line, more",
        "::warning file=specs/a.shardplan.yaml,line=3,col=5,title=SP307 execution-ignored::"
        "unknown key `x`",
        "::notice file=specs/a.shardplan.yaml,line=3,col=5,title=SP505 cap-exceeds-shards::"
        "unknown key `x`",
    ]


_TEXT = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}
_LEVEL = {"enum": ["none", "note", "warning", "error"]}
# The parts of the SARIF 2.1.0 schema (OASIS sarif-schema-2.1.0.json) that we emit,
# with its property names, required members and value constraints.
SARIF_SUBSET = {
    "type": "object",
    "required": ["version", "runs"],
    "additionalProperties": False,
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool"],
                "additionalProperties": False,
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "additionalProperties": False,
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "additionalProperties": False,
                                "properties": {
                                    "name": {"type": "string"},
                                    "version": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "uniqueItems": True,
                                        "items": {
                                            "type": "object",
                                            "required": ["id"],
                                            "additionalProperties": False,
                                            "properties": {
                                                "id": {"type": "string"},
                                                "name": {"type": "string"},
                                                "shortDescription": _TEXT,
                                                "help": _TEXT,
                                                "defaultConfiguration": {
                                                    "type": "object",
                                                    "additionalProperties": False,
                                                    "properties": {"level": _LEVEL},
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "columnKind": {"enum": ["utf16CodeUnits", "unicodeCodePoints"]},
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["message"],
                            "additionalProperties": False,
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": -1},
                                "level": _LEVEL,
                                "message": _TEXT,
                                "properties": {"type": "object"},
                                "locations": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "additionalProperties": False,
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                        "additionalProperties": False,
                                                        "properties": {
                                                            "uri": {"type": "string"},
                                                            "uriBaseId": {"type": "string"},
                                                        },
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "additionalProperties": False,
                                                        "properties": {
                                                            "startLine": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                            "startColumn": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_sarif_structure(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    cwd = tmp_path / "sub"
    cwd.mkdir()
    findings = [
        diag(path="my spec.shardplan.yaml"),
        diag(severity="warning", code="SP307", path="../other/b.yaml"),
    ]
    log = sarif_log(findings, cwd=cwd)
    jsonschema.validate(log, SARIF_SUBSET)
    run = log["runs"][0]  # type: ignore[index]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == list(CODES)
    results = run["results"]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    first, second = (result["locations"][0]["physicalLocation"] for result in results)
    assert first["artifactLocation"] == {
        "uri": "sub/my%20spec.shardplan.yaml",
        "uriBaseId": "%SRCROOT%",
    }
    assert first["region"] == {"startLine": 3, "startColumn": 5}
    assert second["artifactLocation"] == {"uri": "other/b.yaml", "uriBaseId": "%SRCROOT%"}
    assert [result["level"] for result in results] == ["error", "warning"]
    assert rules[list(CODES).index("SP307")]["defaultConfiguration"] == {"level": "warning"}


def test_sarif_outside_the_repository_uses_a_file_uri(tmp_path: Path) -> None:
    location = artifact_location("/elsewhere/x.yaml", tmp_path, tmp_path)
    assert location == {"uri": "file:///elsewhere/x.yaml"}


def test_sarif_rendering_is_json_and_empty_runs_are_valid() -> None:
    log = json.loads(render_diagnostics([], "sarif"))
    jsonschema.validate(log, SARIF_SUBSET)
    assert log["runs"][0]["results"] == []


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown diagnostic format"):
        render_diagnostics([], "xml")  # type: ignore[arg-type]
