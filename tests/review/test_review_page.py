"""The review page without a browser: its encodings, its escaping, and `-o` on show and diff."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from shardplan_compiler.cli import main
from shardplan_compiler.render.review_data import (
    delta_decode,
    delta_ranges,
    front_code,
    front_decode,
)
from shardplan_compiler.render.review_page import script_json

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "examples" / "golden"


@given(st.lists(st.text(max_size=30)))
def test_front_coding_round_trips(values: list[str]) -> None:
    coded = front_code(values)
    assert front_decode(coded) == values
    assert all(item and ord(item[0]) >= 0x30 for item in coded)


@given(
    st.lists(st.tuples(st.integers(0, 10**7), st.integers(1, 1000)), max_size=50),
    st.integers(0, 100),
)
def test_delta_ranges_round_trip(pieces: list[tuple[int, int]], first: int) -> None:
    # Contiguous shards (as compiled) and arbitrary ones (as a forged plan may hold).
    contiguous = []
    at = first
    for _, size in pieces:
        contiguous.append((at, at + size))
        at += size
    scattered = [(start, start + size) for start, size in pieces]
    for ranges in (contiguous, scattered):
        assert delta_decode(delta_ranges(ranges)) == ranges
    assert all(value >= 0 for value in delta_ranges(contiguous))


@given(st.recursive(st.text() | st.integers(), lambda inner: st.lists(inner, max_size=4)))
def test_script_json_cannot_close_its_element(value: object) -> None:
    text = script_json(value)  # type: ignore[arg-type]
    assert json.loads(text) == value
    for forbidden in ("<", ">", "&", "\u2028", "\u2029"):
        assert forbidden not in text


def _run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("plans")
    for name in ("golden.shardplan.yaml", "script.jsonl"):
        (directory / name).write_bytes((GOLDEN / name).read_bytes())
    smaller = (GOLDEN / "golden.shardplan.yaml").read_text(encoding="utf-8")
    (directory / "new.shardplan.yaml").write_text(
        smaller.replace("chunk_size: 25", "chunk_size: 20"), encoding="utf-8"
    )
    assert (
        _run("compile", directory / "golden.shardplan.yaml", "-o", directory / "old.json")[0] == 0
    )
    assert _run("compile", directory / "new.shardplan.yaml", "-o", directory / "new.json")[0] == 0
    return directory


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "html"])
def test_dash_o_writes_what_stdout_would_show(plans: Path, fmt: str, tmp_path: Path) -> None:
    for command in (
        ("show", plans / "old.json"),
        ("diff", plans / "old.json", plans / "new.json"),
    ):
        code, printed = _run(*command, "--format", fmt)
        assert code == 0
        out = tmp_path / f"{command[0]}.{fmt}"
        code, _ = _run(*command, "--format", fmt, "-o", out)
        assert code == 0
        assert out.read_text(encoding="utf-8") == printed
        assert list(tmp_path.glob(".*.tmp")) == []


def test_dash_o_on_show_shard(plans: Path, tmp_path: Path) -> None:
    out = tmp_path / "shard.md"
    code, _ = _run(
        "show",
        plans / "old.json",
        "--shard",
        "translate:scene_004_0001",
        "--format",
        "markdown",
        "-o",
        out,
    )
    assert code == 0
    assert out.read_text(encoding="utf-8").startswith("### Shard `translate:scene_004_0001`")


def test_dash_o_refuses_a_directory_and_keeps_the_old_file(plans: Path, tmp_path: Path) -> None:
    code, output = _run("show", plans / "old.json", "-o", tmp_path)
    assert code == 2
    assert "is a directory" in output
    missing = tmp_path / "no" / "such" / "dir" / "page.html"
    code, output = _run(
        "diff", plans / "old.json", plans / "new.json", "--format", "html", "-o", missing
    )
    assert code == 2
    assert "cannot write" in output
    assert "Traceback" not in output


def test_html_with_shard_is_a_usage_error(plans: Path) -> None:
    code, output = _run(
        "show", plans / "old.json", "--format", "html", "--shard", "qa:scene_001_0001"
    )
    assert code == 2
    assert "--shard" in output


def test_the_page_is_self_contained_and_deterministic(plans: Path) -> None:
    _, first = _run("diff", plans / "old.json", plans / "new.json", "--format", "html")
    _, second = _run("diff", plans / "old.json", plans / "new.json", "--format", "html")
    assert first == second
    assert re.search(r"\b(src|href)\s*=", first) is None, "nothing is loaded from anywhere"
    assert "http://" not in first
    assert "https://" not in first
    assert "<link" not in first
    assert "@import" not in first
    assert "url(" not in first
    assert first.count("<script") == 2
    assert "default-src &#x27;none&#x27;" in first  # html-escaped in its attribute


def test_diff_html_exit_code(plans: Path) -> None:
    code, _ = _run(
        "diff", plans / "old.json", plans / "new.json", "--format", "html", "--exit-code"
    )
    assert code == 1
    code, _ = _run(
        "diff", plans / "old.json", plans / "old.json", "--format", "html", "--exit-code"
    )
    assert code == 0
