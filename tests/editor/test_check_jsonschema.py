"""check-jsonschema, given our exported spec schema, agrees with `shardplan validate` (issue 5).

It must reject every broken example whose error the schema can express and
accept every valid example. What the schema cannot express is listed once,
in `schema_export.SCHEMA_LIMITS`, and repeated in docs/editors.md.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from shardplan_compiler.codes import CODES
from shardplan_compiler.schema_export import SCHEMA_LIMITS, schema_reports

from .example_specs import REPO, SPEC_SCHEMA, broken_examples, valid_examples

CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")


def _verdicts(paths: list[Path]) -> dict[str, list[str]]:
    """File -> the errors check-jsonschema reports for it (empty: accepted)."""
    result = subprocess.run(
        [str(CHECK_JSONSCHEMA), "-o", "json", "--schemafile", str(SPEC_SCHEMA), *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    report = json.loads(result.stdout)
    verdicts: dict[str, list[str]] = {str(path): [] for path in paths}
    for error in [*report.get("errors", []), *report.get("parse_errors", [])]:
        verdicts[error["filename"]].append(error["message"])
    return verdicts


def test_rejects_every_broken_example_the_schema_can_express() -> None:
    examples = [e for e in broken_examples() if schema_reports(e.code)]
    assert len(examples) >= 10, "examples/broken lost its schema-expressible specs"
    verdicts = _verdicts([e.path for e in examples])
    accepted = [e.name for e in examples if not verdicts[str(e.path)]]
    assert accepted == [], f"check-jsonschema accepts broken specs: {accepted}"


def test_accepts_every_valid_example() -> None:
    valid = valid_examples()
    assert any(path.name == "golden.shardplan.yaml" for path in valid)
    warnings_only = [e.path for e in broken_examples() if CODES[e.code].severity == "warning"]
    verdicts = _verdicts([*valid, *warnings_only])
    rejected = {name: errors for name, errors in verdicts.items() if errors}
    assert rejected == {}


def test_cross_item_limits_are_accepted_by_the_schema() -> None:
    """The documented exceptions really are exceptions (else drop them from the list)."""
    examples = [e for e in broken_examples() if SCHEMA_LIMITS.get(e.code, None) is not None]
    cross_item = [e for e in examples if SCHEMA_LIMITS[e.code].kind != "reader"]
    assert cross_item, "no example of a documented cross-item exception"
    verdicts = _verdicts([e.path for e in cross_item])
    assert {e.name: verdicts[str(e.path)] for e in cross_item} == {e.name: [] for e in cross_item}


def test_every_spec_code_is_either_expressible_with_an_example_or_a_documented_limit() -> None:
    examples = {e.code for e in broken_examples()}
    spec_codes = [code for code in CODES if code[:3] in ("SP1", "SP2", "SP3")]
    missing = [code for code in spec_codes if schema_reports(code) and code not in examples]
    assert missing == [], f"spec codes the schema reports but no broken example shows: {missing}"


def test_docs_list_exactly_the_limits() -> None:
    text = (REPO / "docs" / "editors.md").read_text(encoding="utf-8")
    section = text.split("<!-- schema-limits:start -->")[1].split("<!-- schema-limits:end -->")[0]
    rows = re.findall(r"^\| (SP\d{3}) \| ([a-z-]+) \|", section, re.MULTILINE)
    assert dict(rows) == {code: limit.kind for code, limit in SCHEMA_LIMITS.items()}
