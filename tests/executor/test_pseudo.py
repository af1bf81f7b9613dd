"""The built-in `pseudo` handler: pseudo-localization, and an export from the latest text."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from shardplan_executor.handlers.pseudo import pseudolocalize
from shardplan_executor.progress import Progress
from shardplan_executor.runner import RunOptions, run_plan
from shardplan_schemas.source import TranslatedLine

from .plan_factory import PIPELINE, Layout, build_plan, make_lines


def test_pseudolocalize_accents_brackets_and_expands() -> None:
    assert pseudolocalize("Hello {name}, you have %d <b>new</b> messages") == (
        "[Ĥéļļö {name}, ýöû ĥåṽé %d <b>ñéŵ</b> ɱéššåĝéš~~~~~~~~~~~~~~]"
    )


@given(st.text(min_size=1, max_size=200))
def test_pseudolocalize_is_about_30_percent_longer_and_bracketed(text: str) -> None:
    result = pseudolocalize(text)
    assert result.startswith("[")
    assert result.endswith("]")
    assert len(result) == len(text) + 2 + math.ceil(len(text) * 0.3)


@given(st.text(alphabet=st.characters(blacklist_characters="{%<"), min_size=1))
def test_no_latin_letter_escapes_outside_placeholders(text: str) -> None:
    assert not any(c.isascii() and c.isalpha() for c in pseudolocalize(text))


def _run_pseudo(tmp_path: Path, layouts: list[Layout]) -> Path:
    plan = build_plan(tmp_path, make_lines(11), layouts)
    out = tmp_path / "run"
    console = io.StringIO()
    code = run_plan(RunOptions(plan_path=plan, handler="pseudo", out_dir=out), Progress(console))
    assert code == 0, console.getvalue()
    return out


def test_export_takes_the_edit_text_when_edit_ran(tmp_path: Path) -> None:
    out = _run_pseudo(tmp_path, list(PIPELINE))
    for language in ("en", "fr"):
        lines = [
            TranslatedLine.model_validate_json(line)
            for line in (out / "export" / f"{language}.jsonl").read_text().splitlines()
        ]
        assert [line.line_id for line in lines] == [f"line_{n}" for n in range(1, 12)]
        assert {line.language for line in lines} == {language}
        assert {line.phase for line in lines} == {"edit"}
        assert all(line.text == pseudolocalize(line.source_text) for line in lines)


def test_export_takes_the_translate_text_when_edit_is_disabled(tmp_path: Path) -> None:
    layouts = [
        Layout("edit", chunk_size=4, languages=("en", "fr"), enabled=False)
        if layout.phase == "edit"
        else layout
        for layout in PIPELINE
    ]
    out = _run_pseudo(tmp_path, layouts)
    records = [json.loads(line) for line in (out / "export" / "fr.jsonl").read_text().splitlines()]
    assert {record["phase"] for record in records} == {"translate"}
    assert len(records) == 11
