"""docs/diagnostics.md documents every code, with the table generated from codes.py."""

from __future__ import annotations

import re
from pathlib import Path

from shardplan_compiler.codes import CODES
from shardplan_compiler.render.code_docs import TABLE_BEGIN, TABLE_END, render_code_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "diagnostics.md"


def test_code_table_matches_the_registry() -> None:
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(TABLE_BEGIN), text.index(TABLE_END) + len(TABLE_END) + 1
    assert text[start:end] == render_code_table(), (
        "regenerate the table: python -m shardplan_compiler.render.code_docs"
    )


def test_every_code_has_a_section_with_an_example_and_a_fix() -> None:
    text = DOC.read_text(encoding="utf-8")
    sections = dict(re.findall(r"^### (SP\d{3})\n(.*?)(?=^##|\Z)", text, re.MULTILINE | re.DOTALL))
    assert sorted(sections) == sorted(CODES)
    for code, body in sections.items():
        assert CODES[code].name in body, code
        assert "Example" in body, code
        assert "How to fix:" in body, code
