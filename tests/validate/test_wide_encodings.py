"""Specs saved as UTF-16 or UTF-32 with a byte order mark read exactly like UTF-8.

Windows PowerShell 5 writes UTF-16 LE with a mark by default (`>`,
`Out-File`), and YAML allows UTF-16 and UTF-32 after a mark. Such a spec
validates and compiles as its UTF-8 twin does, through the model-free fast
path and the full path alike, with positions in characters.
"""

from __future__ import annotations

import codecs
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from shardplan_compiler.cli import main
from shardplan_compiler.quick_check import certainly_clean
from shardplan_compiler.spec_loading import load_spec

from .helpers import VALID, found

ENCODINGS = [
    pytest.param("utf-16-le", codecs.BOM_UTF16_LE, id="utf-16-le"),
    pytest.param("utf-16-be", codecs.BOM_UTF16_BE, id="utf-16-be"),
    pytest.param("utf-32-le", codecs.BOM_UTF32_LE, id="utf-32-le"),
    pytest.param("utf-32-be", codecs.BOM_UTF32_BE, id="utf-32-be"),
]

# Non-ASCII before the error on its line: a column in bytes would be 47, not 37.
WITH_ERROR = VALID.replace("project: demo", "project: デモ").replace(
    "source:\n  path: script.jsonl\n", "source: {path: スクリプト.jsonl, format: xml}\n"
)


def write(path: Path, text: str, codec: str, bom: bytes) -> Path:
    path.write_bytes(bom + text.encode(codec))
    return path


@pytest.mark.parametrize(("codec", "bom"), ENCODINGS)
def test_a_clean_wide_spec_is_clean_on_the_fast_and_the_full_path(
    tmp_path: Path, codec: str, bom: bytes
) -> None:
    wide = write(tmp_path / "wide.shardplan.yaml", VALID, codec, bom)
    plain = tmp_path / "plain.shardplan.yaml"
    plain.write_text(VALID, encoding="utf-8")
    assert certainly_clean(wide)
    loaded = load_spec(wide)
    assert found(loaded) == []
    assert loaded.spec is not None
    assert loaded.spec == load_spec(plain).spec


@pytest.mark.parametrize(("codec", "bom"), ENCODINGS)
def test_errors_in_a_wide_spec_are_placed_in_characters(
    tmp_path: Path, codec: str, bom: bytes
) -> None:
    wide = write(tmp_path / "wide.shardplan.yaml", WITH_ERROR, codec, bom)
    assert not certainly_clean(wide)
    assert found(load_spec(wide)) == [("SP206", 3, 37)]


@pytest.mark.parametrize(("codec", "bom"), ENCODINGS)
def test_a_wide_spec_that_does_not_decode_names_the_place(
    tmp_path: Path, codec: str, bom: bytes
) -> None:
    width = 2 if codec.startswith("utf-16") else 4
    good = VALID.encode(codec)
    at = good.index("demo".encode(codec)) + 2 * width  # inside `demo`, line 2, column 12
    broken = good[:at] + (b"\x00\xd8" if codec.endswith("le") else b"\xd8\x00") * (width // 2)
    path = tmp_path / "broken.shardplan.yaml"
    path.write_bytes(bom + broken + good[at:])
    loaded = load_spec(path)
    assert found(loaded) == [("SP100", 2, 12)]
    assert f"not {codec[:6].upper()}" in loaded.diagnostics[0].message


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


@pytest.mark.parametrize(("codec", "bom"), ENCODINGS)
def test_validate_and_compile_read_a_wide_spec_like_utf8(
    tmp_path: Path, codec: str, bom: bytes
) -> None:
    source = Path(__file__).resolve().parents[2] / "examples" / "golden" / "script.jsonl"
    shutil.copy(source, tmp_path / "script.jsonl")
    wide = write(tmp_path / "wide.shardplan.yaml", VALID, codec, bom)
    plain = tmp_path / "plain.shardplan.yaml"
    plain.write_text(VALID, encoding="utf-8")
    assert invoke("validate", str(wide))[0] == 0
    assert invoke("compile", str(wide), "-o", str(tmp_path / "wide.plan.json"))[0] == 0
    assert invoke("compile", str(plain), "-o", str(tmp_path / "plain.plan.json"))[0] == 0
    wide_plan = json.loads((tmp_path / "wide.plan.json").read_bytes())
    plain_plan = json.loads((tmp_path / "plain.plan.json").read_bytes())
    assert wide_plan["phases"] == plain_plan["phases"]
    assert wide_plan["spec"]["path"] == "wide.shardplan.yaml"

    broken = write(tmp_path / "broken.shardplan.yaml", WITH_ERROR, codec, bom)
    code, output = invoke("validate", str(broken))
    assert code == 1
    assert f"{broken}:3:37: error[SP206]" in output
    assert invoke("compile", str(broken), "-o", str(tmp_path / "broken.plan.json"))[0] == 1
