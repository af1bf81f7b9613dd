"""The hostile-input corpus: one case per input, each with what the CLI must do.

Every case writes its files into an empty directory at run time (the big ones
are generated, never committed), runs one `shardplan` command there and
states the exit codes allowed and the text the output must contain — the file
name and, where there is one, `file:line`. The runner adds the rules every
case shares: finished within the time limit, no `Traceback`, no output left
unexplained.

This list is the manifest: a crash the fuzzers find becomes a case here.
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cli import GOLDEN, run_cli

Setup = Callable[[Path], None]

SPEC = "case.shardplan.yaml"
PLAN = "good.plan.json"
BAD = "bad.plan.json"
GOLDEN_SPEC = (GOLDEN / "golden.shardplan.yaml").read_text(encoding="utf-8")
GOLDEN_SCRIPT = (GOLDEN / "script.jsonl").read_bytes()
ERRORS = frozenset({1})
IO_OR_ERRORS = frozenset({1, 2})
ACCEPTED = frozenset({0})


@dataclass(frozen=True)
class Case:
    """One hostile input, the command that reads it, and what must come out."""

    name: str
    setup: Setup
    args: tuple[str, ...]
    exit_codes: frozenset[int]
    expect: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    """Subcommands (see `cli.SUBCOMMAND_MODULES`) the case runs; skipped until they exist."""
    forbid: tuple[str, ...] = field(default=())


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def _write(name: str, data: bytes | str) -> Setup:
    def setup(directory: Path) -> None:
        path = directory / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)

    return setup


def _spec(data: bytes | str) -> Setup:
    """The spec file, with the golden script beside it."""

    def setup(directory: Path) -> None:
        _write(SPEC, data)(directory)
        (directory / "script.jsonl").write_bytes(GOLDEN_SCRIPT)

    return setup


def _golden_with(old: str, new: str) -> str:
    assert old in GOLDEN_SPEC, old
    return GOLDEN_SPEC.replace(old, new, 1)


def _fifo(name: str) -> Setup:
    def setup(directory: Path) -> None:
        os.mkfifo(directory / name)
        (directory / "script.jsonl").write_bytes(GOLDEN_SCRIPT)

    return setup


def _directory(name: str) -> Setup:
    def setup(directory: Path) -> None:
        (directory / name).mkdir()

    return setup


def _random_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _validate(name: str, data: bytes | str, codes: frozenset[int], *expect: str) -> Case:
    return Case(f"spec-{name}", _spec(data), ("validate", SPEC), codes, expect)


# --- spec files ----------------------------------------------------------------------------------

NUL_SPEC = _golden_with("project: golden-sample", "project: golden\x00sample")
BIG_INT_SPEC = _golden_with("max_parallel_agents: 8", "max_parallel_agents: " + "9" * 5000)
BINARY_SPEC = _golden_with("project: golden-sample", "project: !!binary aGVsbG8=")
MERGE_SPEC = _golden_with(
    "concurrency:\n",
    "defaults: &defaults {max_parallel_agents: 2}\nconcurrency:\n  <<: *defaults\n",
)
ALIAS_BOMB = "version: 1\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9)
)
UTF16_WITH_ERROR = b"\xff\xfe" + _golden_with(
    "max_parallel_agents: 8", "max_parallel_agents: ゼロ"
).encode("utf-16-le")
UTF16_UNDECODABLE = b"\xff\xfe" + GOLDEN_SPEC.encode("utf-16-le") + b"\x00"  # half a character
INVALID_UTF8 = GOLDEN_SPEC.encode("utf-8").replace(b"project: golden", b"project: gold\xffen", 1)


def spec_cases() -> list[Case]:
    """YAML that must be refused (or, for BOM and CRLF, accepted) by `validate`."""
    golden = GOLDEN_SPEC
    return [
        _validate("random-bytes", _random_bytes(6, 4096), IO_OR_ERRORS, f"{SPEC}:"),
        _validate("nul-byte", NUL_SPEC, ERRORS, f"{SPEC}:{_line_of(NUL_SPEC, chr(0))}:"),
        _validate("all-nul", b"\x00" * 512, ERRORS, f"{SPEC}:1:"),
        _validate("invalid-utf8", INVALID_UTF8, frozenset({2}), f"{SPEC}:6:", "UTF-8"),
        _validate(
            "flow-lists-20000-deep",
            "version: 1\nphases: " + "[" * 20_000 + "]" * 20_000 + "\n",
            ERRORS,
            f"{SPEC}:2:",
        ),
        _validate(
            "flow-maps-20000-deep",
            "version: 1\nphases: " + "{a: " * 20_000 + "1" + "}" * 20_000 + "\n",
            ERRORS,
            f"{SPEC}:2:",
        ),
        _validate(
            "block-lists-20000-deep", "version: 1\nphases:\n" + "- " * 20_000 + "x\n", ERRORS
        ),
        # A 20,000-deep block mapping needs 200 MB of indentation: the largest that fits the
        # 1 MiB limit (1,400 levels) reaches the YAML reader's own depth limit.
        _validate(
            "block-maps-1400-deep",
            "".join(" " * depth + f"k{depth}:\n" for depth in range(1_400)),
            ERRORS,
            f"{SPEC}:",
        ),
        # ... and a 20,000-deep one is refused for its size long before: so is 1,500 deep.
        _validate(
            "block-maps-1500-deep-over-1mib",
            "".join(" " * depth + "k:\n" for depth in range(1_500)),
            frozenset({2}),
            f"{SPEC}:",
            "1 MiB",
        ),
        _validate(
            "scalar-2mb", "version: 1\nproject: " + "x" * 2_000_000 + "\n", frozenset({2}), "1 MiB"
        ),
        _validate(
            "int-5000-digits",
            BIG_INT_SPEC,
            ERRORS,
            f"{SPEC}:{_line_of(BIG_INT_SPEC, '9' * 5000)}:",
            "SP204",
        ),
        _validate("int-base60-huge", "version: 1\nproject: 1" + ":30" * 300_000 + "\n", ERRORS),
        _validate("float-huge", "version: 1e99999\nproject: x\n", ERRORS, f"{SPEC}:1:"),
        _validate(
            "tag-python-object-apply",
            'version: !!python/object/apply:os.system ["echo pwned > PWNED"]\n',
            ERRORS,
            f"{SPEC}:1:",
            "SP106",
        ),
        _validate(
            "tag-python-name", "version: 1\nproject: !!python/name:os.system\n", ERRORS, "SP106"
        ),
        _validate(
            "tag-python-object-new",
            "version: 1\nproject: !!python/object/new:subprocess.Popen [[touch, PWNED]]\n",
            ERRORS,
            f"{SPEC}:2:",
            "SP106",
        ),
        _validate(
            "tag-python-module-key",
            "version: 1\n? !!python/module:os\n: 1\n",
            ERRORS,
            f"{SPEC}:2:",
        ),
        _validate(
            "tag-binary",
            BINARY_SPEC,
            ERRORS,
            f"{SPEC}:{_line_of(BINARY_SPEC, '!!binary')}:",
            "SP106",
        ),
        _validate("tag-custom", "version: 1\nproject: !Ref other\n", ERRORS, f"{SPEC}:2:"),
        _validate(
            "merge-key", MERGE_SPEC, ERRORS, f"{SPEC}:{_line_of(MERGE_SPEC, '<<')}:", "SP107"
        ),
        _validate("key-integer", "version: 1\n1: one\n", ERRORS, f"{SPEC}:2:", "SP105"),
        _validate("key-boolean", "version: 1\nyes: one\n", ERRORS, f"{SPEC}:2:", "SP105"),
        _validate("key-null", "version: 1\n~: one\n", ERRORS, f"{SPEC}:2:", "SP105"),
        _validate("key-list", "version: 1\n? [a, b]\n: one\n", ERRORS, f"{SPEC}:2:", "SP105"),
        _validate("key-mapping", "version: 1\n{a: b}: one\n", ERRORS, f"{SPEC}:2:"),
        # A byte order mark says UTF-16 or UTF-32 (Windows PowerShell 5 writes UTF-16 LE):
        # read like UTF-8, positions in characters.
        _validate("utf16-le-bom-accepted", b"\xff\xfe" + golden.encode("utf-16-le"), ACCEPTED),
        _validate("utf16-be-bom-accepted", b"\xfe\xff" + golden.encode("utf-16-be"), ACCEPTED),
        _validate(
            "utf32-le-bom-accepted", b"\xff\xfe\x00\x00" + golden.encode("utf-32-le"), ACCEPTED
        ),
        _validate(
            "utf32-be-bom-accepted", b"\x00\x00\xfe\xff" + golden.encode("utf-32-be"), ACCEPTED
        ),
        _validate(
            "utf16-bom-with-error",
            UTF16_WITH_ERROR,
            ERRORS,
            f"{SPEC}:{_line_of(GOLDEN_SPEC, 'max_parallel_agents: 8')}:24:",
            "SP2",
        ),
        _validate("utf16-bom-undecodable", UTF16_UNDECODABLE, frozenset({2}), f"{SPEC}:", "UTF-16"),
        _validate("utf16-no-bom", golden.encode("utf-16-le"), IO_OR_ERRORS, f"{SPEC}:1:"),
        _validate("utf8-bom-accepted", b"\xef\xbb\xbf" + golden.encode("utf-8"), ACCEPTED),
        _validate("crlf-accepted", golden.replace("\n", "\r\n"), ACCEPTED),
        _validate(
            "bom-and-crlf-accepted",
            b"\xef\xbb\xbf" + golden.replace("\n", "\r\n").encode("utf-8"),
            ACCEPTED,
        ),
        _validate(
            "crlf-error-line",
            golden.replace("\n", "\r\n").replace("version: 1", "version: 2"),
            ERRORS,
            f"{SPEC}:5:",
        ),
        _validate("alias-bomb", ALIAS_BOMB, ERRORS, f"{SPEC}:", "SP108"),
        _validate("alias-undefined", "version: 1\nproject: *nowhere\n", ERRORS, f"{SPEC}:2:"),
        _validate(
            "alias-many-small",
            "version: 1\nx: &x [a]\nproject: [" + ", ".join(["*x"] * 50_000) + "]\n",
            ERRORS,
            f"{SPEC}:",
        ),
        _validate("empty", "", ERRORS, f"{SPEC}:1:"),
        _validate("only-comments", "# nothing\n# here\n", ERRORS, f"{SPEC}:1:"),
        _validate("top-level-list", "- version: 1\n", ERRORS, f"{SPEC}:1:"),
        _validate("top-level-scalar", "just text\n", ERRORS, f"{SPEC}:1:"),
        _validate("two-documents", "version: 1\n---\nversion: 1\n", ERRORS, f"{SPEC}:"),
        _validate("tab-indent", "version: 1\nsource:\n\tpath: x\n", ERRORS, f"{SPEC}:3:"),
        _validate(
            "many-unknown-keys",
            "version: 1\n" + "".join(f"unknown_{n}: {n}\n" for n in range(5_000)),
            ERRORS,
            f"{SPEC}:2:",
        ),
        _validate(
            "many-errors-in-phases",
            "version: 1\nphases:\n" + "- {phase: warp, execution: {strategy: x}}\n" * 5_000,
            ERRORS,
            f"{SPEC}:3:",
        ),
        Case("spec-directory", _directory(SPEC), ("validate", SPEC), frozenset({2}), (SPEC,)),
        Case("spec-fifo", _fifo(SPEC), ("validate", SPEC), frozenset({2}), (SPEC,)),
        Case("spec-missing", _directory("elsewhere"), ("validate", SPEC), frozenset({2}), (SPEC,)),
    ]


# --- source files --------------------------------------------------------------------------------


def _source_spec(source: str) -> str:
    return (
        "version: 1\nproject: hostile\n"
        f"source:\n  path: {source}\n"
        "languages: {source_language: ja, target_languages: [en]}\n"
        "phases:\n  - phase: ingest\n  - phase: translate\n    agents: [direct_translator]\n"
        "    execution: {strategy: chunk, chunk_size: 2}\n  - phase: export\n"
    )


def _jsonl(*records: str) -> str:
    return "".join(record + "\n" for record in records)


def _ok(n: int) -> str:
    return json.dumps({"line_id": f"line_{n}", "text": f"text {n}"})


def _source(name: str, data: bytes | str) -> Setup:
    def setup(directory: Path) -> None:
        (directory / SPEC).write_text(_source_spec(name), encoding="utf-8")
        _write(name, data)(directory)

    return setup


def _source_cases(
    name: str, file: str, data: bytes | str, codes: frozenset[int], *expect: str
) -> list[Case]:
    """The same source through `validate --source` and through `compile`."""
    setup = _source(file, data)
    return [
        Case(
            f"source-{name}-validate",
            setup,
            ("validate", SPEC, "--source", file),
            codes,
            expect,
            ("validate-source",),
        ),
        Case(
            f"source-{name}-compile",
            setup,
            ("compile", SPEC, "-o", "out.plan.json"),
            codes,
            expect,
            ("compile",),
        ),
    ]


def source_cases() -> list[Case]:
    """Source files that must be refused with `file:line` (or, with a BOM, accepted)."""
    j, c, t = "src.jsonl", "src.csv", "src.txt"
    header = "line_id,text,scene_id\n"
    cases: list[Case] = []
    for group in [
        _source_cases(
            "broken-json-line",
            j,
            _jsonl(_ok(1), _ok(2), '{"line_id": "line_3", "te'),
            ERRORS,
            f"{j}:3",
        ),
        _source_cases("json-array-line", j, _jsonl(_ok(1), '["line_2", "text"]'), ERRORS, f"{j}:2"),
        _source_cases(
            "duplicate-line-id", j, _jsonl(_ok(1), _ok(2), _ok(1)), ERRORS, f"{j}:3", f"{j}:1"
        ),
        _source_cases(
            "id-off-pattern",
            j,
            _jsonl(_ok(1), '{"line_id": "Line-2", "text": "x"}'),
            ERRORS,
            f"{j}:2",
        ),
        _source_cases(
            "empty-text", j, _jsonl(_ok(1), '{"line_id": "line_2", "text": ""}'), ERRORS, f"{j}:2"
        ),
        _source_cases(
            "non-string-text",
            j,
            _jsonl(_ok(1), '{"line_id": "line_2", "text": 42}'),
            ERRORS,
            f"{j}:2",
        ),
        _source_cases(
            "null-text", j, _jsonl(_ok(1), '{"line_id": "line_2", "text": null}'), ERRORS, f"{j}:2"
        ),
        _source_cases(
            "huge-int-field",
            j,
            _jsonl(
                _ok(1), '{"line_id": "line_2", "text": "x", "metadata": {"n": ' + "9" * 5000 + "}}"
            ),
            ERRORS,
            f"{j}:2",
        ),
        _source_cases(
            "deep-metadata",
            j,
            _jsonl(
                _ok(1),
                '{"line_id": "line_2", "text": "x", "metadata": '
                + "[" * 100_000
                + "]" * 100_000
                + "}",
            ),
            ERRORS,
            f"{j}:2",
        ),
        _source_cases("binary-data", j, _random_bytes(7, 4096) + b"\x00", IO_OR_ERRORS, j),
        _source_cases(
            "invalid-utf8-line",
            j,
            (_jsonl(_ok(1), _ok(2)) + '{"line_id": "line_3", "text": "\xff"}\n').encode("latin-1"),
            IO_OR_ERRORS,
            f"{j}:3",
        ),
        _source_cases("utf16", j, _jsonl(_ok(1)).encode("utf-16"), IO_OR_ERRORS, j, "UTF-16"),
        _source_cases(
            "jsonl-bom-accepted", j, b"\xef\xbb\xbf" + _jsonl(_ok(1), _ok(2)).encode(), ACCEPTED
        ),
        _source_cases(
            "jsonl-crlf-accepted", j, _jsonl(_ok(1), _ok(2)).replace("\n", "\r\n"), ACCEPTED
        ),
        _source_cases(
            "csv-ragged-row",
            c,
            header + "line_1,a,scene_1\nline_2,b\nline_3,c,scene_1,extra\n",
            ERRORS,
            f"{c}:3",
        ),
        _source_cases(
            "csv-missing-text-column",
            c,
            "line_id,scene_id\nline_1,scene_1\n",
            ERRORS,
            f"{c}:1",
            "text",
        ),
        _source_cases(
            "csv-bom-accepted",
            c,
            b"\xef\xbb\xbf" + (header + "line_1,a,scene_1\n").encode(),
            ACCEPTED,
        ),
        _source_cases("csv-unclosed-quote", c, header + 'line_1,"a,scene_1\n', ERRORS, c),
        _source_cases(
            "csv-binary", c, b"line_id,text\n" + _random_bytes(8, 2048) + b"\x00", IO_OR_ERRORS, c
        ),
        _source_cases("txt-binary", t, b"\x00\x01\x02" + _random_bytes(9, 1024), IO_OR_ERRORS, t),
        _source_cases("txt-invalid-utf8", t, b"one\ntwo\nthr\xffee\n", IO_OR_ERRORS, f"{t}:3"),
    ]:
        cases += group

    def fifo_source(directory: Path) -> None:
        (directory / SPEC).write_text(_source_spec(j), encoding="utf-8")
        os.mkfifo(directory / j)

    def directory_source(directory: Path) -> None:
        (directory / SPEC).write_text(_source_spec(j), encoding="utf-8")
        (directory / j).mkdir()

    for label, setup in (("fifo", fifo_source), ("directory", directory_source)):
        cases.append(
            Case(
                f"source-{label}-compile",
                setup,
                ("compile", SPEC, "-o", "o.json"),
                IO_OR_ERRORS,
                (j,),
                ("compile",),
            )
        )
        cases.append(
            Case(
                f"source-{label}-validate",
                setup,
                ("validate", SPEC, "--source", j),
                IO_OR_ERRORS,
                (j,),
                ("validate-source",),
            )
        )
    return cases


# --- plans ---------------------------------------------------------------------------------------


_COMPILED: list[bytes] = []
_COMPILING = threading.Lock()


def _compiled(directory: Path) -> bytes:
    """A good plan of the golden sample in `directory`, compiled once by the real CLI."""
    (directory / SPEC).write_text(GOLDEN_SPEC, encoding="utf-8")
    (directory / "script.jsonl").write_bytes(GOLDEN_SCRIPT)
    with _COMPILING:
        if not _COMPILED:
            done = run_cli(["compile", SPEC, "-o", PLAN], directory, timeout_s=30)
            if done.returncode != 0:
                raise RuntimeError(f"cannot compile the golden sample: {done.output}")
            _COMPILED.append((directory / PLAN).read_bytes())
    (directory / PLAN).write_bytes(_COMPILED[0])
    return _COMPILED[0]


def _rehash(plan: dict[str, object]) -> bytes:
    from shardplan_schemas.canonical import compute_plan_id

    plan.pop("plan_id", None)
    plan["plan_id"] = compute_plan_id(plan)  # type: ignore[arg-type]
    return json.dumps(plan, ensure_ascii=False, indent=1).encode("utf-8")


def _bad_plan(mutate: Callable[[bytes, Path], bytes | None]) -> Setup:
    """A good plan, then `bad.plan.json` made from it (None: `mutate` wrote it itself)."""

    def setup(directory: Path) -> None:
        good = _compiled(directory)
        bad = mutate(good, directory)
        if bad is not None:
            (directory / BAD).write_bytes(bad)

    return setup


def _tamper_shard(good: bytes, _: Path) -> bytes:
    lines = good.decode("utf-8").split("\n")
    for index, line in enumerate(lines):
        if '"key":"context:' in line.replace(" ", ""):
            lines[index] = line.replace("scene_", "scene_9", 1)
            return "\n".join(lines).encode("utf-8")
    raise AssertionError("the golden plan has no context shard")


def _unknown_format(good: bytes, _: Path) -> bytes:
    plan = json.loads(good)
    plan["format"] = "shardplan/99"
    return _rehash(plan)


def _forge(edit: Callable[[dict[str, Any]], None]) -> Callable[[bytes, Path], bytes]:
    """A format-2 plan edited as an attacker would, with its plan_id recomputed (DESIGN §7)."""

    def mutate(good: bytes, _: Path) -> bytes:
        plan: dict[str, Any] = json.loads(good)
        edit(plan)
        return _rehash(plan)

    return mutate


def _phase(plan: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in plan["phases"] if p["phase"] == name)
    return found


def _set_key(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda plan: _phase(plan, "context")["shards"][1].update(key=key)


FORGERIES: dict[str, Callable[[dict[str, Any]], None]] = {
    "key-path": _set_key("context:../../pwned"),
    "key-absolute": _set_key("context:/etc/passwd"),
    "key-other-line": _set_key("context:scene_003_0002"),
    "key-other-phase": _set_key("translate:scene_003_0001"),
    "overlap": lambda plan: _phase(plan, "context")["shards"][0].update(end=40),
    "gap": lambda plan: _phase(plan, "context")["shards"][1].update(start=33),
    "beyond-the-lines": lambda plan: _phase(plan, "ingest")["shards"][0].update(end=10**9),
    "negative-start": lambda plan: _phase(plan, "ingest")["shards"][0].update(start=-1),
    "count": lambda plan: _phase(plan, "context").update(shard_count=3),
    "languages": lambda plan: _phase(plan, "context").update(target_languages=["en"]),
    "unknown-phase": lambda plan: _phase(plan, "context").update(phase="summarize"),
    "disabled-with-shards": lambda plan: _phase(plan, "edit").update(
        shards=_phase(plan, "qa")["shards"], shard_count=1
    ),
    "chunk-size": lambda plan: _phase(plan, "pretranslation")["execution"].update(chunk_size=7),
    "format-1": lambda plan: plan.update(format="shardplan/1"),
    "long-fingerprint": lambda plan: _phase(plan, "ingest")["shards"][0].update(sha256="0" * 64),
}
"""Each one must be refused by show, diff and run, even though its plan_id is right."""


def _stale_source(good: bytes, directory: Path) -> bytes:
    with (directory / "script.jsonl").open("ab") as stream:
        stream.write(b'{"line_id": "scene_999_0001", "text": "a new line"}\n')
    return good


def _plan_fifo(good: bytes, directory: Path) -> None:
    os.mkfifo(directory / BAD)


def _plan_directory(good: bytes, directory: Path) -> None:
    (directory / BAD).mkdir()


PLAN_MUTATIONS: dict[str, tuple[Callable[[bytes, Path], bytes | None], frozenset[int]]] = {
    "random-bytes": (lambda good, _: _random_bytes(10, 4096), IO_OR_ERRORS),
    "json-list": (lambda good, _: b"[1, 2, 3]\n", IO_OR_ERRORS),
    "truncated": (lambda good, _: good[: len(good) // 2], IO_OR_ERRORS),
    "empty": (lambda good, _: b"", IO_OR_ERRORS),
    "deep-nesting": (lambda good, _: b"[" * 100_000 + b"]" * 100_000, IO_OR_ERRORS),
    "unknown-format": (_unknown_format, IO_OR_ERRORS),
    "tampered-shard": (_tamper_shard, IO_OR_ERRORS),
    "utf16": (lambda good, _: good.decode("utf-8").encode("utf-16"), IO_OR_ERRORS),
    "fifo": (_plan_fifo, IO_OR_ERRORS),
    "directory": (_plan_directory, IO_OR_ERRORS),
    **{f"forged-{name}": (_forge(edit), ERRORS) for name, edit in FORGERIES.items()},
}


def plan_cases() -> list[Case]:
    """Broken plans through `show`, `diff` and `run`; a stale source through `run`."""
    cases: list[Case] = []
    for name, (mutate, codes) in PLAN_MUTATIONS.items():
        setup = _bad_plan(mutate)
        for command, args in (
            ("show", ("show", BAD)),
            ("diff", ("diff", PLAN, BAD)),
            ("run", ("run", BAD, "--handler", "pseudo", "--out", "run", "--quiet")),
            ("show-html", ("show", BAD, "--format", "html")),
            ("diff-html", ("diff", PLAN, BAD, "--format", "html")),
        ):
            allowed: frozenset[int] = codes
            expect: tuple[str, ...] = (BAD,)
            if name == "forged-key-other-line" and command == "show":
                # A well-formed key is checked against the source only where the source is
                # read: `run`, `diff`, `show --shard`, the review page (the summary reads the
                # plan alone).
                allowed, expect = frozenset({0}), ()
            needs = ("compile", command.removesuffix("-html"))
            cases.append(Case(f"plan-{name}-{command}", setup, args, allowed, expect, needs))
    stale = _bad_plan(_stale_source)
    cases.append(
        Case(
            "plan-stale-source-run",
            stale,
            ("run", BAD, "--handler", "pseudo", "--out", "run", "--quiet"),
            ERRORS,
            ("script.jsonl", "changed"),
            ("compile", "run"),
        )
    )
    for command, args in (("show", ("show", BAD)), ("diff", ("diff", PLAN, BAD))):
        cases.append(
            Case(
                f"plan-stale-source-{command}",
                stale,
                args,
                frozenset({0, 1}),
                (),
                ("compile", command),
            )
        )
    return cases


PAYLOADS = (
    "</script><img src=x onerror=alert(1)>",
    "<img src=x onerror=alert(2)>",
    "\"'><svg onload=alert(3)>",
    "</script><script>alert(4)</script>",
)
"""What must never reach a review page as markup (issue 13.4)."""


def _forged_strings(good: bytes, _: Path) -> bytes:
    """A plan whose free-text fields are markup, with its plan_id recomputed."""
    plan = json.loads(good)
    plan["spec"]["path"] = PAYLOADS[3] + ".yaml"
    plan["generator"]["version"] = PAYLOADS[2]
    for phase in plan["phases"]:
        if phase["agents"]:
            phase["agents"] = [PAYLOADS[1]]
    return _rehash(plan)


def _hostile_lines(directory: Path) -> None:
    """The golden spec over a script whose every text and speaker is markup."""
    lines = []
    for number, raw in enumerate(GOLDEN_SCRIPT.decode("utf-8").splitlines()):
        record = json.loads(raw)
        record["text"] = PAYLOADS[number % len(PAYLOADS)] + " \u2028 <!-- ]]>"
        record["speaker"] = PAYLOADS[(number + 1) % len(PAYLOADS)]
        lines.append(json.dumps(record, ensure_ascii=False))
    (directory / SPEC).write_text(GOLDEN_SPEC, encoding="utf-8")
    (directory / "script.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run_cli(["compile", SPEC, "-o", BAD], directory, timeout_s=30)
    if done.returncode != 0:
        raise RuntimeError(done.output)


def _missing_source(good: bytes, directory: Path) -> bytes:
    (directory / "script.jsonl").unlink()
    return good


def review_page_cases() -> list[Case]:
    """The review page over hostile strings, hostile lines, and sources that are gone or changed."""
    forged = _bad_plan(_forged_strings)
    markup = (*PAYLOADS, "<img", "<svg")
    cases = [
        Case(
            f"review-page-forged-strings-{command}",
            forged,
            args,
            ACCEPTED,
            (),
            ("compile", command),
            forbid=markup,
        )
        for command, args in (
            ("show", ("show", BAD, "--format", "html")),
            ("diff", ("diff", PLAN, BAD, "--format", "html")),
        )
    ]
    cases += [
        Case(
            f"review-page-hostile-lines-{command}",
            _hostile_lines,
            args,
            ACCEPTED,
            (),
            ("compile", command.removesuffix("-self")),
            forbid=markup,
        )
        for command, args in (
            ("show", ("show", BAD, "--format", "html")),
            ("diff-self", ("diff", BAD, BAD, "--format", "html")),
        )
    ]
    cases.append(
        Case(
            "review-page-missing-source",
            _bad_plan(_missing_source),
            ("show", BAD, "--format", "html"),
            ACCEPTED,
            ("is not at hand",),
            ("compile", "show"),
        )
    )
    cases.append(
        Case(
            "review-page-changed-source",
            _bad_plan(_stale_source),
            ("diff", BAD, BAD, "--format", "html"),
            ACCEPTED,
            ("changed since the plan was compiled",),
            ("compile", "diff"),
        )
    )
    return cases


# --- old run directories (run --reuse) -----------------------------------------------------------

OLD = "old.run"
_OLD_RUN: list[dict[str, bytes]] = []
_HELD_LOCKS: list[int] = []
"""Locks held for the whole test process, standing in for a live run."""
REUSE_ARGS = ("run", PLAN, "--handler", "pseudo", "--out", "new.run", "--reuse", OLD)
SOME_OUTPUT = "outputs/translate.en.jsonl"
"""A segment: the records of every translate unit in English."""


def _old_run(directory: Path) -> Path:
    """A finished pseudo run of the golden plan at `old.run/`, made once by the real CLI."""
    _compiled(directory)
    with _COMPILING:
        if not _OLD_RUN:
            done = run_cli(
                ["run", PLAN, "--handler", "pseudo", "--out", OLD, "--quiet", "--no-fsync"],
                directory,
                timeout_s=60,
            )
            if done.returncode != 0:
                raise RuntimeError(f"cannot run the golden plan: {done.output}")
            root = directory / OLD
            _OLD_RUN.append(
                {
                    path.relative_to(root).as_posix(): path.read_bytes()
                    for path in sorted(root.rglob("*"))
                    if path.is_file()
                }
            )
            return root
    root = directory / OLD
    for name, data in _OLD_RUN[0].items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def _journal_records(root: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (root / "journal.jsonl").read_text().splitlines()]


def _write_journal(root: Path, records: list[dict[str, object]], extra: bytes = b"") -> None:
    data = "".join(json.dumps(record) + "\n" for record in records).encode("utf-8")
    (root / "journal.jsonl").write_bytes(extra + data)


def _old_run_with(mutate: Callable[[Path, Path], None]) -> Setup:
    def setup(directory: Path) -> None:
        mutate(directory, _old_run(directory))

    return setup


def _output_path_in_journal(value: str) -> Callable[[Path, Path], None]:
    def mutate(directory: Path, root: Path) -> None:
        records = _journal_records(root)
        for record in records:
            if record["output"] == SOME_OUTPUT:
                record["output"] = value
        (directory / "outside.jsonl").write_bytes((root / SOME_OUTPUT).read_bytes())
        _write_journal(root, records)

    return mutate


def _output_symlink(directory: Path, root: Path) -> None:
    # Outside, the very bytes the journal expects: following the link would reuse them.
    outside = directory / "outside.jsonl"
    outside.write_bytes((root / SOME_OUTPUT).read_bytes())
    (root / SOME_OUTPUT).unlink()
    (root / SOME_OUTPUT).symlink_to(outside)


def _outputs_folder_symlink(directory: Path, root: Path) -> None:
    os.rename(root / "outputs", directory / "outside-outputs")
    (root / "outputs").symlink_to(directory / "outside-outputs")


def _output_fifo(directory: Path, root: Path) -> None:
    (root / SOME_OUTPUT).unlink()
    os.mkfifo(root / SOME_OUTPUT)


def _journal_fifo(directory: Path, root: Path) -> None:
    (root / "journal.jsonl").unlink()
    os.mkfifo(root / "journal.jsonl")


def _journal_symlink(directory: Path, root: Path) -> None:
    os.rename(root / "journal.jsonl", directory / "outside-journal.jsonl")
    (root / "journal.jsonl").symlink_to(directory / "outside-journal.jsonl")


def _lock_symlink(directory: Path, root: Path) -> None:
    (root / ".lock").unlink(missing_ok=True)
    (directory / "outside.lock").write_bytes(b"")
    (root / ".lock").symlink_to(directory / "outside.lock")


def _held_lock(directory: Path, root: Path) -> None:
    import fcntl

    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    _HELD_LOCKS.append(fd)


def _huge_line(directory: Path, root: Path) -> None:
    _write_journal(root, _journal_records(root), b'{"id": "' + b"x" * 50_000_000 + b'"}\n')


def _huge_unterminated(directory: Path, root: Path) -> None:
    with (root / "journal.jsonl").open("ab") as journal:
        journal.write(b"[" * 30_000_000)


def _truncated_lines(directory: Path, root: Path) -> None:
    lines = (root / "journal.jsonl").read_bytes().splitlines(keepends=True)
    cut = [line[: len(line) // 2] + b"\n" if i % 2 else line for i, line in enumerate(lines)]
    (root / "journal.jsonl").write_bytes(b"".join(cut))


def _deep_line(directory: Path, root: Path) -> None:
    _write_journal(root, _journal_records(root), b"[" * 30_000 + b"]" * 30_000 + b"\n")


def _hostile_values(directory: Path, root: Path) -> None:
    records = _journal_records(root)
    records[0]["records"] = int("9" * 4000)
    records[1]["id"] = "\x1b[31m" + "../" * 100
    records[2]["fingerprint"] = {"language": None, "handler": "pseudo", "inputs_sha256": ["x"]}
    _write_journal(root, records, b"\xff\xfe not utf-8\n\x00\x00\x00\n")


def _checksum_mismatch(directory: Path, root: Path) -> None:
    path = root / SOME_OUTPUT
    path.write_bytes(path.read_bytes().replace(b"scene_001", b"scene_666", 1))


def _random_journal(directory: Path, root: Path) -> None:
    (root / "journal.jsonl").write_bytes(_random_bytes(11, 65536))


def _not_a_directory(directory: Path) -> None:
    _compiled(directory)
    (directory / OLD).write_bytes(b"not a run directory\n")


def _missing(directory: Path) -> None:
    _compiled(directory)


RUN_DIR_MUTATIONS: dict[
    str, tuple[Callable[[Path, Path], None], frozenset[int], tuple[str, ...]]
] = {
    "journal-parent-path": (
        _output_path_in_journal("../outside.jsonl"),
        ACCEPTED,
        ("names the output '../outside.jsonl'",),
    ),
    "journal-absolute-path": (
        _output_path_in_journal("/etc/passwd"),
        ACCEPTED,
        ("names the output '/etc/passwd'",),
    ),
    "output-symlink-outside": (_output_symlink, ACCEPTED, ("is a symlink (never followed)",)),
    "outputs-folder-symlink": (_outputs_folder_symlink, ACCEPTED, ("outputs/ is a symlink",)),
    "output-fifo": (_output_fifo, ACCEPTED, ("is not a regular file",)),
    "journal-fifo": (_journal_fifo, ACCEPTED, ("journal.jsonl is not a regular file",)),
    "journal-symlink": (_journal_symlink, ACCEPTED, ("journal.jsonl is a symlink",)),
    "lock-symlink": (_lock_symlink, ACCEPTED, (".lock is a symlink",)),
    "live-run-lock": (_held_lock, ERRORS, ("being written by a running",)),
    "journal-50mb-line": (_huge_line, ACCEPTED, ("longer than 65536 bytes",)),
    "journal-30mb-unterminated": (_huge_unterminated, ACCEPTED, ()),
    "journal-truncated-lines": (_truncated_lines, ACCEPTED, ("are not journal records",)),
    "journal-30000-deep": (_deep_line, ACCEPTED, ("are not journal records",)),
    "journal-hostile-values": (_hostile_values, ACCEPTED, ("are not journal records",)),
    "journal-random-bytes": (_random_journal, ACCEPTED, ()),
    "output-checksum-mismatch": (
        _checksum_mismatch,
        ACCEPTED,
        ("do not match their journal checksum",),
    ),
}


def run_dir_cases() -> list[Case]:
    """Old run directories handed to `run --reuse` (and `--dry-run`): warnings, never a read outside."""
    cases: list[Case] = []
    for name, (mutate, codes, expect) in RUN_DIR_MUTATIONS.items():
        setup = _old_run_with(mutate)
        cases.append(
            Case(f"rundir-{name}-run", setup, REUSE_ARGS, codes, expect, ("compile", "run"))
        )
        cases.append(
            Case(
                f"rundir-{name}-dry-run",
                setup,
                (*REUSE_ARGS, "--dry-run"),
                codes,
                expect,
                ("compile", "run"),
            )
        )
    for name, setup in (("not-a-directory", _not_a_directory), ("missing", _missing)):
        cases.append(
            Case(
                f"rundir-{name}-run", setup, REUSE_ARGS, frozenset({2}), (OLD,), ("compile", "run")
            )
        )
    return cases


def all_cases() -> list[Case]:
    from .rentl_corpus import rentl_cases

    cases = (
        spec_cases()
        + source_cases()
        + plan_cases()
        + rentl_cases()
        + review_page_cases()
        + run_dir_cases()
    )
    names = [case.name for case in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases
