"""The imported spec shards every phase as rentl 0.1.8 does: a table of cases from its documentation.

Each case is a rentl.toml phase list and the shards rentl-0.1.8.md says
rentl runs for it, written out by hand (not computed): defaults only when a
phase has no execution table, `full` for a table without a strategy,
batches of runs, disabled phases, ingest/export as one unit, and the route
strategy failing on lines without a route id.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import make_project, plan_shards, script

# 12 lines: scene_1 x3, scene_2 x2, no scene x2, scene_3 x5; route_1 x5, route_2 x7.
SCENES = ["scene_1"] * 3 + ["scene_2"] * 2 + [None] * 2 + ["scene_3"] * 5
ROUTES = ["route_1"] * 5 + ["route_2"] * 7
LINES = script(SCENES, ROUTES)

AGENTS = {
    "context": "scene_summarizer",
    "pretranslation": "idiom_labeler",
    "translate": "direct_translator",
    "qa": "style_guide_critic",
    "edit": "basic_editor",
}


def phase(name: str, extra: str = "") -> str:
    agents = f'agents = ["{AGENTS[name]}"]\n' if name in AGENTS else ""
    return f'\n[[pipeline.phases]]\nphase = "{name}"\n{agents}{extra}'


CASES: list[tuple[str, str, str, list[tuple[int, int]], set[str]]] = [
    # (id, phase, its extra TOML, rentl's shards, warnings the import gives). Lines 6-7 have
    # no scene, so every context case also warns that rentl's context agent fails on them.
    ("context-default-scene-batch-1", "context", "", [(0, 3), (3, 5), (5, 7), (7, 12)], {"SP734"}),
    ("translate-default-chunk-10", "translate", "", [(0, 10), (10, 12)], set()),
    ("qa-default-chunk-10", "qa", "", [(0, 10), (10, 12)], set()),
    ("pretranslation-default-chunk-10", "pretranslation", "", [(0, 10), (10, 12)], set()),
    ("edit-default-chunk-10", "edit", "", [(0, 10), (10, 12)], set()),
    (
        "only-max-parallel-agents-means-full",
        "translate",
        "execution = { max_parallel_agents = 4 }\n",
        [(0, 12)],
        {"SP731"},
    ),
    (
        "empty-execution-means-full",
        "context",
        "[pipeline.phases.execution]\n",
        [(0, 12)],
        {"SP731", "SP734"},
    ),
    (
        "scene-without-batch-is-batch-1",
        "context",
        'execution = { strategy = "scene" }\n',
        [(0, 3), (3, 5), (5, 7), (7, 12)],
        {"SP734"},
    ),
    (
        "scene-batch-2",
        "translate",
        'execution = { strategy = "scene", scene_batch_size = 2 }\n',
        [(0, 5), (5, 12)],
        set(),
    ),
    (
        "route-batch-1",
        "qa",
        '[pipeline.phases.execution]\nstrategy = "route"\n',
        [(0, 5), (5, 12)],
        set(),
    ),
    (
        "route-batch-2",
        "qa",
        'execution = { strategy = "route", route_batch_size = 2 }\n',
        [(0, 12)],
        set(),
    ),
    (
        "chunk-5",
        "edit",
        'execution = { strategy = "chunk", chunk_size = 5 }\n',
        [(0, 5), (5, 10), (10, 12)],
        set(),
    ),
    (
        "chunk-larger-than-script",
        "pretranslation",
        'execution = { strategy = "chunk", chunk_size = 100 }\n',
        [(0, 12)],
        set(),
    ),
    ("full", "translate", 'execution = { strategy = "full" }\n', [(0, 12)], set()),
    ("disabled-phase-runs-nothing", "edit", "enabled = false\n", [], set()),
    ("ingest-one-unit", "ingest", "", [(0, 12)], set()),
    (
        "execution-on-export-is-ignored",
        "export",
        'execution = { strategy = "chunk", chunk_size = 2 }\n',
        [(0, 12)],
        {"SP732"},
    ),
]


@pytest.mark.parametrize(
    ("name", "extra", "expected", "warnings"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_phase_shards_as_rentl_does(
    tmp_path: Path, name: str, extra: str, expected: list[tuple[int, int]], warnings: set[str]
) -> None:
    project = make_project(tmp_path, phase(name, extra), LINES)
    imported, loaded, result = project.compiled()
    assert imported.exit_code == 0, imported.diagnostics
    found = {d.code for d in imported.diagnostics if d.severity == "warning"}
    assert found == warnings
    assert loaded is not None
    assert not loaded.has_errors, loaded.diagnostics
    assert result is not None
    assert result.ok, result.diagnostics
    assert plan_shards(result) == {name: expected}


def test_every_phase_at_once_matches_the_cases(tmp_path: Path) -> None:
    body = "".join(
        phase(name, extra)
        for name, extra in (
            ("ingest", ""),
            ("context", ""),
            ("pretranslation", 'execution = { strategy = "chunk", chunk_size = 5 }\n'),
            ("translate", 'execution = { strategy = "route" }\n'),
            ("qa", "execution = { max_parallel_agents = 2 }\n"),
            ("edit", "enabled = false\n"),
            ("export", ""),
        )
    )
    _, _, result = make_project(tmp_path, body, LINES).compiled()
    assert result is not None
    assert result.plan is not None
    assert plan_shards(result) == {
        "ingest": [(0, 12)],
        "context": [(0, 3), (3, 5), (5, 7), (7, 12)],
        "pretranslation": [(0, 5), (5, 10), (10, 12)],
        "translate": [(0, 5), (5, 12)],
        "qa": [(0, 12)],
        "edit": [],
        "export": [(0, 12)],
    }
    caps = {p.phase: p.execution.max_parallel_agents for p in result.plan.phases}
    assert caps["qa"] == 2
    assert caps["context"] == 1  # rentl: no max_parallel_agents, one shard at a time


def test_route_over_lines_without_route_id_fails_at_the_spec_position(tmp_path: Path) -> None:
    lines = script(SCENES, ROUTES[:5] + [None] * 7)
    body = phase("translate", 'execution = { strategy = "route" }\n')
    imported, loaded, result = make_project(tmp_path, body, lines).compiled()
    assert imported.exit_code == 0
    assert loaded is not None
    assert result is not None
    assert not result.ok
    (error,) = [d for d in result.diagnostics if d.severity == "error"]
    assert error.code == "SP501"
    assert error.path.endswith("shardplan.yaml")
    spec_lines = (tmp_path / "shardplan.yaml").read_text(encoding="utf-8").splitlines()
    assert "strategy: route" in spec_lines[error.line - 1]


def test_a_disabled_route_phase_does_not_fail(tmp_path: Path) -> None:
    lines = script(SCENES)
    body = phase("translate", 'enabled = false\nexecution = { strategy = "route" }\n')
    imported, _, result = make_project(tmp_path, body, lines).compiled()
    assert imported.exit_code == 0
    assert result is not None
    assert result.ok
    assert plan_shards(result) == {"translate": []}


def test_rentl_strips_whitespace_as_it_reads(tmp_path: Path) -> None:
    body = '\n[[pipeline.phases]]\nphase = "translate"\nagents = [" direct_translator "]\n'
    imported, _, result = make_project(tmp_path, body, LINES).compiled()
    assert imported.exit_code == 0, imported.diagnostics
    assert result is not None
    assert result.ok
    assert plan_shards(result) == {"translate": [(0, 10), (10, 12)]}
