"""What rentl would refuse (errors, nothing written) and what it gets wrong silently (warnings).

Every finding is at `rentl.toml:line:col`: the tests find the expected place
by searching the file for the token the finding is about.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import HEAD, codes, make_project, script

LINES = script(["scene_1", "scene_1", None, "scene_2"])
CONTEXT = '\n[[pipeline.phases]]\nphase = "context"\nagents = ["a"]\n'
TRANSLATE = '\n[[pipeline.phases]]\nphase = "translate"\nagents = ["b"]\n'


def place(text: str, needle: str, nth: int = 1) -> tuple[int, int]:
    index = -1
    for _ in range(nth):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


ERRORS: list[tuple[str, str, str, str, int]] = [
    # (id, phases body, code, token the finding points at, which occurrence of it)
    ("duplicate-phase", TRANSLATE + TRANSLATE, "SP712", '"translate"', 2),
    ("phase-order", TRANSLATE + CONTEXT, "SP713", '"context"', 1),
    ("agents-required", '\n[[pipeline.phases]]\nphase = "qa"\n', "SP714", "[[pipeline.phases]]", 1),
    (
        "agents-on-export",
        '\n[[pipeline.phases]]\nphase = "export"\nagents = ["x"]\n',
        "SP715",
        "agents",
        1,
    ),
    ("chunk-needs-size", TRANSLATE + 'execution = { strategy = "chunk" }\n', "SP716", '"chunk"', 1),
    (
        "size-on-wrong-strategy",
        TRANSLATE + 'execution = { strategy = "scene", chunk_size = 4 }\n',
        "SP717",
        "chunk_size",
        1,
    ),
    (
        "size-without-strategy-is-full",
        TRANSLATE + "execution = { scene_batch_size = 2 }\n",
        "SP717",
        "scene_batch_size",
        1,
    ),
    (
        "size-not-positive",
        TRANSLATE + 'execution = { strategy = "chunk", chunk_size = 0 }\n',
        "SP711",
        "0 }",
        2,
    ),
    ("wrong-type", TRANSLATE + 'enabled = "yes"\n', "SP711", '"yes"', 1),
    ("unknown-phase", '\n[[pipeline.phases]]\nphase = "review"\n', "SP711", '"review"', 1),
    (
        "huge-chunk-size",
        TRANSLATE + 'execution = { strategy = "chunk", chunk_size = 100000000000000000000000 }\n',
        "SP720",
        "100000000000000000000000",
        1,
    ),
    (
        "agent-not-snake-case",
        '\n[[pipeline.phases]]\nphase = "qa"\nagents = ["Style Critic"]\n',
        "SP720",
        '"Style Critic"',
        1,
    ),
]


@pytest.mark.parametrize(
    ("body", "code", "needle", "nth"), [case[1:] for case in ERRORS], ids=[c[0] for c in ERRORS]
)
def test_what_rentl_refuses_is_an_error_at_its_place(
    tmp_path: Path, body: str, code: str, needle: str, nth: int
) -> None:
    project = make_project(tmp_path, body, LINES)
    result = project.imported()
    text = project.config.read_text(encoding="utf-8")
    errors = [(d.code, d.line, d.column) for d in result.diagnostics if d.severity == "error"]
    assert (code, *place(text, needle, nth)) in errors, result.diagnostics
    assert result.exit_code == 1
    assert result.spec_text is None


def test_language_errors(tmp_path: Path) -> None:
    head = HEAD.replace(
        'target_languages = ["en", "fr"]', 'target_languages = ["en", "ja", "EN", "en"]'
    )
    project = make_project(tmp_path, TRANSLATE, LINES, head=head)
    result = project.imported()
    text = project.config.read_text(encoding="utf-8")
    found = codes(result)
    assert ("SP718", *place(text, '"ja"', 2)) in found  # the target equal to the source
    assert ("SP718", *place(text, '"en"', 2)) in found  # the second "en"
    assert ("SP711", *place(text, '"EN"')) in found  # not a language code
    assert result.exit_code == 1


def test_missing_keys_and_every_error_in_one_run(tmp_path: Path) -> None:
    head = HEAD.replace('input_path = "./input/script.{fmt}"\n', "").replace(
        '[pipeline.default_model]\nmodel_id = "m"\n', ""
    )
    project = make_project(tmp_path, TRANSLATE + TRANSLATE + CONTEXT, LINES, head=head)
    found = {d.code for d in project.imported().diagnostics}
    assert {"SP710", "SP712", "SP713", "SP719"} <= found


def test_invalid_toml_is_an_error_at_its_line(tmp_path: Path) -> None:
    project = make_project(tmp_path, TRANSLATE + "execution = { strategy = chunk }\n", LINES)
    result = project.imported()
    text = project.config.read_text(encoding="utf-8")
    line = place(text, "strategy = chunk")[0]
    ((code, at_line, _),) = codes(result)
    assert (code, at_line) == ("SP701", line)
    assert result.exit_code == 1


def test_a_table_defined_twice_is_named_at_the_second(tmp_path: Path) -> None:
    project = make_project(tmp_path, TRANSLATE + "\n[retry]\nmax_retries = 1\n\n[retry]\n", LINES)
    result = project.imported()
    text = project.config.read_text(encoding="utf-8")
    assert codes(result) == [("SP701", *place(text, "[retry]", 2))]
    assert "first at line" in result.diagnostics[0].message


WARNINGS: list[tuple[str, str, str, str, str]] = [
    # (id, phases body, code, token, a phrase of the message)
    (
        "typo-in-execution",
        TRANSLATE + 'execution = { strategy = "chunk", chunk_size = 5, max_paralel_agents = 4 }\n',
        "SP730",
        "max_paralel_agents",
        "did you mean `max_parallel_agents`?",
    ),
    (
        "cap-in-concurrency",
        TRANSLATE + "\n[concurrency]\nmax_parallel_agents = 4\n",
        "SP730",
        "max_parallel_agents",
        "per phase",
    ),
    (
        "strategy-outside-execution",
        TRANSLATE + 'strategy = "scene"\n',
        "SP730",
        "strategy =",
        "execution table",
    ),
    ("unknown-table", TRANSLATE + "\n[loging]\nsinks = []\n", "SP730", "loging", "`logging`"),
    (
        "no-strategy",
        TRANSLATE + "execution = { max_parallel_agents = 3 }\n",
        "SP731",
        "execution",
        "ONE shard",
    ),
    (
        "execution-on-ingest",
        '\n[[pipeline.phases]]\nphase = "ingest"\nexecution = { strategy = "full" }\n',
        "SP732",
        "execution",
        "ignores",
    ),
    ("context-without-scene", CONTEXT, "SP734", "[[pipeline.phases]]", "input/script.jsonl:3"),
]


@pytest.mark.parametrize(
    ("body", "code", "needle", "phrase"),
    [case[1:] for case in WARNINGS],
    ids=[c[0] for c in WARNINGS],
)
def test_what_rentl_gets_wrong_silently_is_a_warning(
    tmp_path: Path, body: str, code: str, needle: str, phrase: str
) -> None:
    project = make_project(tmp_path, body, LINES)
    result = project.imported()
    text = project.config.read_text(encoding="utf-8")
    (warning,) = [d for d in result.diagnostics if d.code == code]
    assert warning.severity == "warning"
    assert (warning.line, warning.column) == place(text, needle)
    assert phrase in warning.message
    assert result.exit_code == 0
    assert result.spec_text is not None


def test_csv_input_with_the_route_strategy(tmp_path: Path) -> None:
    body = TRANSLATE + 'execution = { strategy = "route" }\n'
    project = make_project(tmp_path, body, LINES, fmt="csv")
    result = project.imported()
    text = project.config.read_text(encoding="utf-8")
    (warning,) = [d for d in result.diagnostics if d.code == "SP733"]
    assert (warning.line, warning.column) == place(text, '"route"')


def test_txt_input_with_empty_lines(tmp_path: Path) -> None:
    project = make_project(tmp_path, TRANSLATE, LINES, fmt="txt")
    (project.root / "input" / "script.txt").write_text("one\n\ntwo\n", encoding="utf-8")
    result = project.imported()
    (warning,) = [d for d in result.diagnostics if d.code == "SP735"]
    assert "input/script.txt:2" in warning.message


def test_what_is_not_carried_is_one_info(tmp_path: Path) -> None:
    body = TRANSLATE + "\n[logging]\nsinks = []\n\n[cache]\nenabled = false\n"
    result = make_project(tmp_path, body, LINES).imported()
    infos = [d for d in result.diagnostics if d.severity == "info"]
    assert [d.code for d in infos] == ["SP740"]
    for name in ("logging", "cache", "pipeline.default_model", "output_dir"):
        assert name in infos[0].message
