"""Property tests: valid specs validate clean; one mutation gives one expected diagnostic.

The specs are drawn from the rules of DESIGN §2 (not from the exported
schema, which has its own parity tests), dumped to YAML in a random style,
and read back from a file, so the whole path from text to diagnostics is
exercised. The positions are checked against the YAML text itself.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shardplan_compiler.spec_loading import LoadedSpec, load_spec
from shardplan_schemas.primitives import LLM_PHASES, PHASE_ORDER

Data = dict[str, object]
Pointer = tuple[str | int, ...]

LANGUAGES = ["ja", "en", "fr", "de", "pt-BR", "zh-TW", "es", "ko"]
SIZE_OF = {"chunk": "chunk_size", "scene": "scene_batch_size", "route": "route_batch_size"}
_name_text = st.text(
    alphabet=st.characters(whitelist_categories=["L", "N", "Pd", "Zs"]), min_size=1, max_size=30
).filter(lambda text: text.strip() == text)


@st.composite
def executions(draw: st.DrawFn) -> Data:
    strategy = draw(st.sampled_from(["full", "scene", "chunk", "route", None]))
    execution: Data = {} if strategy is None else {"strategy": strategy}
    size_field = SIZE_OF.get(strategy or "full")
    if size_field and (strategy == "chunk" or draw(st.booleans())):
        execution[size_field] = draw(st.integers(1, 1_000_000))
    if draw(st.booleans()):
        execution["max_parallel_agents"] = draw(st.integers(1, 10_000))
    return execution


@st.composite
def phases(draw: st.DrawFn) -> list[Data]:
    names = draw(
        st.lists(st.sampled_from(PHASE_ORDER), min_size=1, max_size=7, unique=True).map(
            lambda picked: sorted(picked, key=PHASE_ORDER.index)
        )
    )
    result: list[Data] = []
    for name in names:
        phase: Data = {"phase": name}
        if name in LLM_PHASES:
            enabled = draw(st.booleans() | st.just(True))
            if not enabled:
                phase["enabled"] = False
            if enabled or draw(st.booleans()):
                phase["agents"] = draw(
                    st.lists(
                        st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True),
                        min_size=1,
                        max_size=3,
                    )
                )
            if draw(st.booleans()):
                phase["execution"] = draw(executions())
        elif draw(st.booleans()):
            phase["enabled"] = draw(st.booleans())
        result.append(phase)
    return result


@st.composite
def valid_specs(draw: st.DrawFn) -> Data:
    source_language = draw(st.sampled_from(LANGUAGES))
    targets = draw(
        st.lists(
            st.sampled_from([code for code in LANGUAGES if code != source_language]),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    spec: Data = {
        "version": 1,
        "project": draw(_name_text),
        "source": {"path": draw(_name_text)},
        "languages": {"source_language": source_language, "target_languages": targets},
        "phases": draw(phases()),
    }
    if draw(st.booleans()):
        spec["source"]["format"] = draw(st.sampled_from(["jsonl", "csv", "txt"]))  # type: ignore[index]
    if draw(st.booleans()):
        spec["concurrency"] = {
            "max_parallel_agents": draw(st.integers(1, 10_000)),
            "max_consecutive_failures": draw(st.integers(1, 10_000)),
        }
    if draw(st.booleans()):
        spec["retry"] = {
            "max_retries": draw(st.integers(0, 100)),
            "backoff_s": draw(st.floats(0, 3600) | st.integers(0, 3600)),
        }
    return spec


@st.composite
def yaml_styles(draw: st.DrawFn) -> dict[str, object]:
    return {
        "default_flow_style": draw(st.sampled_from([False, None])),
        "sort_keys": draw(st.booleans()),
        "indent": draw(st.sampled_from([2, 4])),
        "allow_unicode": draw(st.booleans()),
        "width": 10_000,
    }


def load_dumped(data: Data, style: dict[str, object]) -> tuple[str, LoadedSpec]:
    text = yaml.safe_dump(data, **style)  # type: ignore[call-overload]
    assert isinstance(text, str)
    with TemporaryDirectory() as directory:
        path = Path(directory) / "spec.shardplan.yaml"
        path.write_text(text, encoding="utf-8")
        return text, load_spec(path)


COMMON = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(valid_specs(), yaml_styles())
def test_valid_specs_validate_clean(data: Data, style: dict[str, object]) -> None:
    _, loaded = load_dumped(data, style)
    assert loaded.diagnostics == []
    assert loaded.spec is not None
    assert loaded.spec.model_dump(exclude_unset=True) == data


@dataclass(frozen=True)
class Mutation:
    kind: str
    code: str
    pointer: Pointer


def _get(data: object, pointer: Pointer) -> object:
    for part in pointer:
        data = data[part]  # type: ignore[index]
    return data


def _mappings(data: Data) -> list[Pointer]:
    found: list[Pointer] = [()]
    for key in ("source", "languages", "concurrency", "retry"):
        if key in data:
            found.append((key,))
    phase_list: list[Data] = data["phases"]  # type: ignore[assignment]
    for index, phase in enumerate(phase_list):
        found.append(("phases", index))
        if "execution" in phase:
            found.append(("phases", index, "execution"))
    return found


@st.composite
def mutated_specs(draw: st.DrawFn) -> tuple[Data, Mutation]:
    data = copy.deepcopy(draw(valid_specs()))
    phase_list: list[Data] = data["phases"]  # type: ignore[assignment]
    kinds = ["drop-required", "unknown-key", "wrong-type", "out-of-range", "forbidden-size"]
    if len(phase_list) < 7:
        kinds.append("duplicate-phase")
    if len(phase_list) > 1:
        kinds.append("swap-order")
    kind = draw(st.sampled_from(kinds))
    if kind == "drop-required":
        pointer = draw(
            st.sampled_from(
                [
                    ("version",),
                    ("project",),
                    ("source",),
                    ("source", "path"),
                    ("languages",),
                    ("languages", "source_language"),
                    ("languages", "target_languages"),
                    ("phases",),
                    *[("phases", i, "phase") for i in range(len(phase_list))],
                ]
            )
        )
        del _get(data, pointer[:-1])[pointer[-1]]  # type: ignore[attr-defined]
        return data, Mutation(kind, "SP202", pointer)
    if kind == "unknown-key":
        parent = draw(st.sampled_from(_mappings(data)))
        _get(data, parent)["zz_unknown"] = 1  # type: ignore[index]
        return data, Mutation(kind, "SP201", (*parent, "zz_unknown"))
    if kind == "wrong-type":
        pointer, value = draw(
            st.sampled_from(
                [
                    (("project",), 5),
                    (("version",), "1"),
                    (("source", "path"), ["a"]),
                    (("languages", "target_languages"), "en"),
                    (("phases", 0), "ingest"),
                    (("phases", 0, "phase"), 3),
                    (("phases", 0, "enabled"), "true"),
                ]
            )
        )
        _get(data, pointer[:-1])[pointer[-1]] = value  # type: ignore[index]
        if pointer == ("phases", 0, "enabled") and phase_list[0]["phase"] in LLM_PHASES:
            # the rules count anything but `false` as enabled, and enabled LLM phases need agents
            phase_list[0].setdefault("agents", ["x"])
        code = {("version",): "SP208", ("phases", 0, "phase"): "SP206"}.get(pointer, "SP203")
        return data, Mutation(kind, code, pointer)
    if kind == "out-of-range":
        data["concurrency"] = {"max_parallel_agents": draw(st.sampled_from([0, -1, 10_001]))}
        return data, Mutation(kind, "SP204", ("concurrency", "max_parallel_agents"))
    if kind == "forbidden-size":
        llm = [i for i, phase in enumerate(phase_list) if phase["phase"] in LLM_PHASES]
        if not llm:
            phase_list[0]["agents"] = ["x"]  # only ingest/export here: they take no agents
            return data, Mutation(kind, "SP306", ("phases", 0, "agents"))
        index = draw(st.sampled_from(llm))
        execution: Data = phase_list[index].setdefault("execution", {})  # type: ignore[assignment]
        strategy = str(execution.get("strategy", "full"))
        field = draw(st.sampled_from([f for f in SIZE_OF.values() if f != SIZE_OF.get(strategy)]))
        execution[field] = 5
        if strategy == "chunk":
            execution.setdefault("chunk_size", 5)
        return data, Mutation(kind, "SP311", ("phases", index, "execution", field))
    if kind == "duplicate-phase":
        phase_list.append(copy.deepcopy(phase_list[draw(st.integers(0, len(phase_list) - 1))]))
        return data, Mutation(kind, "SP303", ("phases", len(phase_list) - 1, "phase"))
    index = draw(st.integers(0, len(phase_list) - 2))
    phase_list[index], phase_list[index + 1] = phase_list[index + 1], phase_list[index]
    return data, Mutation(kind, "SP304", ("phases", index + 1, "phase"))


def _pointer_text(pointer: Pointer) -> str:
    return "".join(f"/{part}" for part in pointer)


@COMMON
@given(mutated_specs(), yaml_styles())
def test_one_mutation_gives_the_expected_diagnostic(
    case: tuple[Data, Mutation], style: dict[str, object]
) -> None:
    data, mutation = case
    text, loaded = load_dumped(data, style)
    assert [(d.code, d.pointer) for d in loaded.diagnostics] == [
        (mutation.code, _pointer_text(mutation.pointer))
    ], text
    diagnostic = loaded.diagnostics[0]
    line = text.splitlines()[diagnostic.line - 1]
    before, at = line[: diagnostic.column - 1], line[diagnostic.column - 1 :]
    last = mutation.pointer[-1]
    if mutation.code in ("SP201", "SP306", "SP311"):
        assert at.startswith(str(last)), (text, diagnostic)
    elif mutation.code == "SP202":
        parent = mutation.pointer[:-1]
        if not parent:
            assert diagnostic.line == 1
            assert diagnostic.column == 1
        elif isinstance(parent[-1], int):
            assert before.rstrip().endswith(("-", "[", ",")), (text, diagnostic)
        else:
            assert at.startswith(str(parent[-1])), (text, diagnostic)
    elif isinstance(last, int):
        assert before.rstrip().endswith(("-", "[", ",")), (text, diagnostic)
    elif isinstance(_get(data, mutation.pointer), (list, dict)) and not before.strip():
        # a block collection starts at its first item, on the line after its key
        previous = text.splitlines()[diagnostic.line - 2]
        assert previous.rstrip().endswith(f"{last}:"), (text, diagnostic)
    else:
        assert before.rstrip().endswith(f"{last}:"), (text, diagnostic)
    assert loaded.spec is None
