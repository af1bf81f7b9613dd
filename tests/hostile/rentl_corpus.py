"""Hostile rentl.toml files for `shardplan import rentl` (issue 13, part 3).

The treatment of specs: size limit, deep nesting, huge integers, NULs,
binary, not UTF-8, duplicate tables, files that are not files. Each must
end in exit 1 or 2 with a `rentl.toml:line:col` message (exit 2 ones name
the file), within the corpus's time bound, without a traceback; `-o` never
leaves half a spec or replaces another file without `--force`.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path

from .cli import REPO
from .corpus import ERRORS, IO_OR_ERRORS, Case, Setup, _line_of, _random_bytes

CONFIG = "rentl.toml"
EXAMPLE = REPO / "examples" / "rentl"
GOOD = (EXAMPLE / "rentl.toml").read_text(encoding="utf-8")
SCRIPT = (EXAMPLE / "input" / "golden.jsonl").read_bytes()
USAGE = frozenset({2})


def _config(data: bytes | str) -> Setup:
    """The rentl.toml, with the example's script where it points."""

    def setup(directory: Path) -> None:
        (directory / CONFIG).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        (directory / "input").mkdir()
        (directory / "input" / "golden.jsonl").write_bytes(SCRIPT)

    return setup


def _with(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


def _case(name: str, data: bytes | str, codes: frozenset[int], *expect: str) -> Case:
    return Case(
        f"rentl-{name}", _config(data), ("import", "rentl", CONFIG), codes, expect, ("import",)
    )


def _at(text: str, needle: str) -> str:
    return f"{CONFIG}:{_line_of(text, needle)}:"


HUGE_INT = _with(
    'phase = "translate"\n',
    'phase = "translate"\nexecution = { strategy = "chunk", chunk_size = ' + "9" * 5000 + " }\n",
)
BIG_INT = _with(
    'phase = "translate"\n',
    'phase = "translate"\nexecution = { strategy = "chunk", chunk_size = ' + "9" * 4000 + " }\n",
)
NUL = _with('project_name = "golden-sample"', 'project_name = "golden\x00sample"')
DUP_TABLE = GOOD + "\n[retry]\nmax_retries = 1\n"
DUP_KEY = _with("max_retries = 3\n", "max_retries = 3\nmax_retries = 4\n")
DEEP_ARRAYS = GOOD + "\n[agents]\nx = " + "[" * 20_000 + "]" * 20_000 + "\n"
DEEP_TABLES = GOOD + "\n[agents]\nx = " + "{a = " * 20_000 + "1" + "}" * 20_000 + "\n"
LONG_HEADER = "[" + ".".join(["a"] * 200_000) + "]\n"
MANY_PHASES = GOOD + '\n[[pipeline.phases]]\nphase = "translate"\nagents = ["x"]\n' * 5_000
NEGATIVE = _with(
    'phase = "translate"\n',
    'phase = "translate"\nexecution = { strategy = "chunk", chunk_size = -1 }\n',
)
FLOAT_SIZE = _with(
    'phase = "translate"\n',
    'phase = "translate"\nexecution = { strategy = "chunk", chunk_size = 1e309 }\n',
)
INF_RETRY = _with("backoff_s = 1.0", "backoff_s = inf")
LONG_NAME = _with('project_name = "golden-sample"', 'project_name = "' + "x" * 900_000 + '"')
CONTROL_NAME = _with(
    'project_name = "golden-sample"', 'project_name = "a\\u2028b\\u0085c\\u007f</script>"'
)


def _fifo(directory: Path) -> None:
    os.mkfifo(directory / CONFIG)


def _directory(directory: Path) -> None:
    (directory / CONFIG).mkdir()


def _good_and_spec(directory: Path) -> None:
    _config(GOOD)(directory)
    (directory / "shardplan.yaml").write_text("# someone's own spec\n", encoding="utf-8")


def rentl_cases() -> list[Case]:
    """rentl.toml files that must be refused with a position, or imported without surprise."""
    return [
        _case("random-bytes", _random_bytes(13, 4096), IO_OR_ERRORS, CONFIG),
        _case("all-nul", b"\x00" * 512, ERRORS, f"{CONFIG}:1:1:"),
        _case("nul-in-string", NUL, ERRORS, _at(NUL, "\x00"), "SP701"),
        _case(
            "png-header",
            b"\x89PNG\r\n\x1a\n" + _random_bytes(3, 256),
            USAGE,
            f"{CONFIG}:1:",
            "UTF-8",
        ),
        _case(
            "latin-1",
            GOOD.replace("golden-sample", "café").encode("latin-1"),
            USAGE,
            f"{CONFIG}:3:",
            "UTF-8",
        ),
        _case(
            "utf-16",
            codecs.BOM_UTF16_LE + GOOD.encode("utf-16-le"),
            USAGE,
            f"{CONFIG}:1:1:",
            "UTF-8",
        ),
        _case("over-1mib", GOOD + "# " + "x" * (1 << 20) + "\n", USAGE, f"{CONFIG}:1:1:", "1 MiB"),
        _case("long-string-900kb", LONG_NAME, ERRORS, _at(LONG_NAME, '"xxx'), "SP720"),
        _case("arrays-20000-deep", DEEP_ARRAYS, ERRORS, _at(DEEP_ARRAYS, "x = ["), "SP702"),
        _case("inline-tables-20000-deep", DEEP_TABLES, ERRORS, _at(DEEP_TABLES, "x = {"), "SP702"),
        _case("header-200000-keys", LONG_HEADER, ERRORS, f"{CONFIG}:1:", "SP702"),
        _case("int-5000-digits", HUGE_INT, ERRORS, _at(HUGE_INT, "9" * 5000), "SP701"),
        _case("int-4000-digits", BIG_INT, ERRORS, _at(BIG_INT, "9" * 4000), "SP720"),
        _case("negative-size", NEGATIVE, ERRORS, _at(NEGATIVE, "-1"), "SP711"),
        _case("float-overflow-size", FLOAT_SIZE, ERRORS, _at(FLOAT_SIZE, "1e309"), "SP711"),
        _case("infinite-backoff", INF_RETRY, ERRORS, _at(INF_RETRY, "inf"), "SP720"),
        _case(
            "duplicate-table",
            DUP_TABLE,
            ERRORS,
            f"{CONFIG}:{DUP_TABLE.count(chr(10)) - 1}:1:",
            "twice",
        ),
        _case("duplicate-key", DUP_KEY, ERRORS, _at(DUP_KEY, "max_retries = 4"), "twice"),
        _case("5000-phases", MANY_PHASES, ERRORS, CONFIG, "SP712"),
        _case("control-characters-in-name", CONTROL_NAME, frozenset({0}), "yaml-language-server"),
        _case("empty", b"", ERRORS, f"{CONFIG}:1:1:", "SP710"),
        Case("rentl-fifo", _fifo, ("import", "rentl", CONFIG), USAGE, (CONFIG,), ("import",)),
        Case(
            "rentl-directory",
            _directory,
            ("import", "rentl", CONFIG),
            USAGE,
            (CONFIG,),
            ("import",),
        ),
        Case(
            "rentl-o-over-another-file",
            _good_and_spec,
            ("import", "rentl", CONFIG, "-o", "shardplan.yaml"),
            USAGE,
            ("--force",),
            ("import",),
        ),
        Case(
            "rentl-o-over-the-config-itself",
            _config(GOOD),
            ("import", "rentl", CONFIG, "-o", CONFIG),
            USAGE,
            ("--force",),
            ("import",),
        ),
        Case(
            "rentl-o-in-a-missing-directory",
            _config(GOOD),
            ("import", "rentl", CONFIG, "-o", "no/such/dir/shardplan.yaml"),
            USAGE,
            ("cannot write",),
            ("import",),
        ),
    ]
