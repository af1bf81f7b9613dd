"""Hypothesis strategies for the parity tests: instances drawn from a JSON Schema, and loose specs.

hypothesis-jsonschema 0.23 no longer runs on current Hypothesis (it calls a
removed internal API), so `instances_of` reads the subset of draft-07 our
exported schemas use. Every object schema carrying `allOf` (the strategy and
`agents` rules) filters its own draws against that subschema, so a rejected
draw costs one phase, not a whole spec.

What the draws never hold, by design (documented divergences between
Python's `jsonschema` and the models, not between the models and the schema):
integral floats for integers (JSON Schema counts `25.0` as an integer, the
models and YAML authors do not) and strings ending in a newline (Python's
`re` lets `$` match before one; the ECMA-262 regexes JSON Schema specifies,
and check-jsonschema, do not).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import jsonschema
from hypothesis import strategies as st

JsonObject = dict[str, object]
Json = object

_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\n\r"),
    max_size=12,
)


def instances_of(schema: Mapping[str, object]) -> st.SearchStrategy[Json]:
    """Instances the (sub)schema accepts."""
    base = _by_type(schema)
    if "allOf" in schema:
        validator = jsonschema.Draft7Validator(dict(schema))
        return base.filter(validator.is_valid)
    return base


def _by_type(schema: Mapping[str, object]) -> st.SearchStrategy[Json]:
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(cast(list[Json], schema["enum"]))
    types = schema.get("type")
    if isinstance(types, list):
        return st.one_of([_one_type(schema, str(name)) for name in types])
    if isinstance(types, str):
        return _one_type(schema, types)
    return st.none() | st.booleans() | st.integers() | _TEXT


def _one_type(schema: Mapping[str, object], name: str) -> st.SearchStrategy[Json]:
    if name == "null":
        return st.none()
    if name == "boolean":
        return st.booleans()
    if name in ("integer", "number"):
        low, low_open = _bound(schema, "minimum", "exclusiveMinimum")
        high, high_open = _bound(schema, "maximum", "exclusiveMaximum")
        ints = st.integers(
            min_value=None if low is None else int(low) + (1 if low_open else 0),
            max_value=None if high is None else int(high) - (1 if high_open else 0),
        )
        if name == "integer":
            return ints
        floats = st.floats(
            min_value=low,
            max_value=high,
            exclude_min=low_open,
            exclude_max=high_open,
            allow_nan=False,
            allow_infinity=False,
        )
        return ints | floats
    if name == "string":
        min_size = int(cast(int, schema.get("minLength", 0)))
        max_size = int(cast(int, schema.get("maxLength", 40)))
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            return st.from_regex(pattern, fullmatch=True).filter(
                lambda s: min_size <= len(s) <= max_size and not s.endswith("\n")
            )
        return st.text(
            alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\n"),
            min_size=min_size,
            max_size=min(max_size, min_size + 20),
        )
    if name == "array":
        items = schema.get("items", {})
        assert isinstance(items, dict)
        return st.lists(
            instances_of(items),
            min_size=int(cast(int, schema.get("minItems", 0))),
            max_size=min(int(cast(int, schema.get("maxItems", 4))), 4),
            unique_by=(lambda x: repr(x)) if schema.get("uniqueItems") else None,
        )
    if name == "object":
        return _object(schema)
    raise AssertionError(f"type {name!r} is not drawn")


def _bound(
    schema: Mapping[str, object], inclusive: str, exclusive: str
) -> tuple[float | None, bool]:
    if inclusive in schema:
        return float(cast(float, schema[inclusive])), False
    if exclusive in schema:
        return float(cast(float, schema[exclusive])), True
    return None, False


def _object(schema: Mapping[str, object]) -> st.SearchStrategy[Json]:
    properties = cast(Mapping[str, Mapping[str, object]], schema.get("properties", {}))
    required = set(cast(list[str], schema.get("required", [])))
    return st.fixed_dictionaries(
        {name: instances_of(sub) for name, sub in properties.items() if name in required},
        optional={
            name: instances_of(sub) for name, sub in properties.items() if name not in required
        },
    )


PHASES = ("ingest", "context", "pretranslation", "translate", "qa", "edit", "export")
GOOD_LANGS = ("ja", "en", "fr", "de", "pt-BR")
BAD_LANGS = ("EN", "e", "no", "pt-br", True)


class _Picker:
    """Chooses good values, or — in a faulty spec, now and then — bad ones."""

    def __init__(self, draw: st.DrawFn, faulty: bool) -> None:
        self.draw = draw
        self.faulty = faulty

    def __call__(self, good: list[Json], bad: list[Json]) -> Json:
        if self.faulty and self.draw(st.integers(0, 3)) == 0:
            return self.draw(st.sampled_from(bad))
        return self.draw(st.sampled_from(good))

    def chance(self, one_in: int) -> bool:
        return bool(self.draw(st.integers(0, one_in - 1)) == 0)


_SIZE_OF = {"chunk": "chunk_size", "scene": "scene_batch_size", "route": "route_batch_size"}
_BAD_SIZES: list[Json] = [0, -1, 1_000_001, "10", True, None, 2.5]


def _execution(pick: _Picker) -> Json:
    strategy = pick(["full", "scene", "chunk", "route", None], ["Chunk", 3])
    execution: JsonObject = {} if strategy is None else {"strategy": strategy}
    own = _SIZE_OF.get(str(strategy))
    if own and (own == "chunk_size" or pick.chance(2)):
        execution[own] = pick([1, 7, 1_000_000], _BAD_SIZES)
    if pick.faulty and pick.chance(3):
        execution[pick.draw(st.sampled_from(sorted(_SIZE_OF.values())))] = pick([3], [None])
    if pick.chance(3):
        execution["max_parallel_agents"] = pick([1, 2, 10_000], [0, 10_001, "2"])
    if pick.faulty and pick.chance(10):
        execution["chunksize"] = 3
    return execution


def _phase(pick: _Picker, name: Json) -> Json:
    phase: JsonObject = {"phase": name}
    enabled = pick([True, True, False], ["no", 1])
    if pick.chance(3) or enabled is not True:
        phase["enabled"] = enabled
    if name in ("ingest", "export"):
        if pick.chance(4):
            phase["agents"] = pick([None], [["a"], []])
    elif enabled is True or pick.chance(2):
        phase["agents"] = pick(
            [["direct_translator"], ["qa_bot", "x_2"]], [[], None, ["Bad-Name"], "a"]
        )
    if pick.chance(2):
        phase["execution"] = pick([None], [None]) if pick.chance(8) else _execution(pick)
    return phase


@st.composite
def loose_specs(draw: st.DrawFn) -> Json:
    """Specs near the valid ones: half are drawn clean, half break rules now and then."""
    pick = _Picker(draw, faulty=draw(st.booleans()))
    chosen = draw(st.lists(st.sampled_from(PHASES), min_size=1, max_size=4, unique=True))
    chosen.sort(key=PHASES.index)
    if pick.faulty and pick.chance(4):
        chosen = draw(st.permutations(chosen))
    names: list[Json] = [pick([name], ["review", chosen[0]]) for name in chosen]
    source_language = pick(list(GOOD_LANGS), list(BAD_LANGS))
    count = draw(st.integers(1, 3))
    targets: list[Json] = [lang for lang in GOOD_LANGS if lang != source_language]
    del targets[count:]
    if pick.faulty and pick.chance(3):
        targets.append(pick([source_language], [targets[0], "XX", 3]))
    spec: JsonObject = {
        "version": pick([1], [2, "1", 1.5]),
        "project": pick(["golden-sample", "p"], ["", "x" * 201, 7]),
        "source": {"path": pick(["script.jsonl"], ["", None])},
        "languages": {"source_language": source_language, "target_languages": targets},
        "phases": [_phase(pick, name) for name in names],
    }
    if pick.chance(2):
        spec["source"] = {"path": "s.csv", "format": pick(["csv", "txt", None], ["xml"])}
    if pick.chance(2):
        spec["concurrency"] = {
            "max_parallel_agents": pick([1, 8, 10_000], [0, 10_001, "8"]),
            "max_consecutive_failures": pick([1, 3], [0, -3]),
        }
    if pick.chance(2):
        spec["retry"] = {
            "max_retries": pick([0, 2, 100], [101, -1]),
            "backoff_s": pick([0, 1.5, 3600], [3600.5, "1", -0.5]),
            "max_backoff_s": pick([60, 0.25], [86401]),
        }
    if pick.faulty and pick.chance(8):
        del spec[draw(st.sampled_from(sorted(spec)))]
    if pick.faulty and pick.chance(8):
        spec["phase"] = []
    return spec
