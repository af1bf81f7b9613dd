"""Random rentl projects: every import compiles to rentl's documented sharding.

Hypothesis draws rentl.toml phase lists (any subset of the phases in order,
enabled or not, with no execution table, one without a strategy, or one of
each strategy with or without its size, inline or as a sub-table) and
scripts (scene and route ids present or missing), imports the project,
compiles the spec in-process, and compares each phase's (start, end) list
with `rentl_shards`, the reference written from rentl's documentation.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from shardplan_schemas.vocabulary import PHASE_ORDER

from .helpers import Line, RouteFails, make_project, plan_shards, rentl_shards, script

AGENTS = {"context", "pretranslation", "translate", "qa", "edit"}
Execution = dict[str, object] | None


@st.composite
def executions(draw: st.DrawFn) -> Execution:
    kind = draw(st.sampled_from(["none", "no-strategy", "full", "chunk", "scene", "route"]))
    if kind == "none":
        return None
    table: dict[str, object] = {}
    if kind != "no-strategy":
        table["strategy"] = kind
    if kind == "chunk":
        table["chunk_size"] = draw(st.integers(1, 15))
    elif kind in ("scene", "route") and draw(st.booleans()):
        table[f"{kind}_batch_size"] = draw(st.integers(1, 5))
    if draw(st.booleans()):
        table["max_parallel_agents"] = draw(st.integers(1, 6))
    return table


@st.composite
def phase_lists(draw: st.DrawFn) -> list[dict[str, object]]:
    names = draw(st.lists(st.sampled_from(PHASE_ORDER), min_size=1, unique=True))
    phases: list[dict[str, object]] = []
    for name in sorted(names, key=PHASE_ORDER.index):
        phase: dict[str, object] = {"phase": name}
        enabled = draw(st.sampled_from([None, True, False]))
        if enabled is not None:
            phase["enabled"] = enabled
        if name in AGENTS and (enabled is not False or draw(st.booleans())):
            phase["agents"] = ["some_agent"]
        execution = draw(executions())
        if execution is not None:
            phase["execution"] = execution
        phase["_inline"] = draw(st.booleans())
        phases.append(phase)
    return phases


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return str(value)


def toml_phases(phases: list[dict[str, object]]) -> str:
    out = []
    for phase in phases:
        out.append("\n[[pipeline.phases]]")
        for key in ("phase", "enabled", "agents"):
            if key in phase:
                out.append(f"{key} = {_value(phase[key])}")
        execution = phase.get("execution")
        if isinstance(execution, dict):
            pairs = [(key, _value(value)) for key, value in execution.items()]
            if phase["_inline"]:
                out.append("execution = { " + ", ".join(f"{k} = {v}" for k, v in pairs) + " }")
            else:
                out.append("[pipeline.phases.execution]")
                out += [f"{k} = {v}" for k, v in pairs]
    return "\n".join(out) + "\n"


ids = st.sampled_from(["scene_1", "scene_2", "scene_3", None])
scripts = st.integers(1, 30).flatmap(
    lambda count: st.tuples(
        st.lists(ids, min_size=count, max_size=count),
        st.one_of(
            st.lists(st.sampled_from(["route_1", "route_2"]), min_size=count, max_size=count),
            st.lists(st.sampled_from(["route_1", None]), min_size=count, max_size=count),
        ),
    )
)


@settings(max_examples=150, deadline=None)
@given(phases=phase_lists(), ids_=scripts)
def test_imported_projects_shard_as_rentl(
    phases: list[dict[str, object]], ids_: tuple[list[str | None], list[str | None]]
) -> None:
    lines: list[Line] = script(*ids_)
    with tempfile.TemporaryDirectory() as work:
        project = make_project(Path(work), toml_phases(phases), lines)
        imported, loaded, result = project.compiled()
        assert imported.exit_code == 0, imported.diagnostics
        assert imported.spec_text is not None
        assert project.imported().spec_text == imported.spec_text  # byte-stable
        assert loaded is not None
        assert not loaded.has_errors, loaded.diagnostics
        assert result is not None
        expected: dict[str, list[tuple[int, int]]] = {}
        fails = False
        for phase in phases:
            try:
                expected[str(phase["phase"])] = rentl_shards(phase, lines)
            except RouteFails:
                fails = True
        if fails:
            assert not result.ok
            assert {d.code for d in result.diagnostics if d.severity == "error"} == {"SP501"}
        else:
            assert result.ok, result.diagnostics
            assert plan_shards(result) == expected
