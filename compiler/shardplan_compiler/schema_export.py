"""JSON Schemas generated from the pydantic models, shaped for editors.

The models in `shardplan_schemas` are the one source of truth; the files in
`generated/` are derived from them by `EditorJsonSchema`, a customized
pydantic `GenerateJsonSchema`, and never edited by hand. The drift check
(`shardplan schema --check`) keeps the checked-in files equal to what the
models give.

Why draft-07: yaml-language-server (the engine behind VS Code's YAML
extension and most editors' YAML support) validated with a draft-07
implementation for its whole 1.x history and picks its validator from
`$schema`; releases before 1.20 know nothing newer, and draft-07 is what
SchemaStore's catalog and check-jsonschema handle everywhere. It has all we
need — `if`/`then` for the strategy and `agents` rules, boolean `false`
schemas for forbidden keys, numeric `exclusiveMinimum` — while 2019-09 and
2020-12 would add only keywords we do not use (`$defs`, `unevaluated*`,
`dependentRequired`) at the price of older editors silently skipping parts
of the schema.

What the generator changes compared with pydantic's default output, each for
an editor's sake:
- `$schema` (draft-07) and a stable `$id`; an explicit title on the root only
  (pydantic's "Chunk Size"-style titles, generated from field names, are
  noise in a hover);
- every property has `description` (plain text) and `markdownDescription`
  (the same text as written, with its code spans), and an `examples` list;
- enum values are documented one by one (`enumDescriptions` and
  `markdownEnumDescriptions`, which yaml-language-server shows in completion);
- optional fields are `{"type": [T, "null"]}` rather than an `anyOf` of two
  branches, and every single-use definition is inlined, so hovers and error
  messages name the field, not a `$ref`;
- the cross-field rules a schema can express (DESIGN §2: which sizes each
  strategy allows, `chunk_size` required by `chunk`, `agents` required on
  enabled LLM phases and absent on ingest/export, unique target languages)
  are `if`/`then` clauses built from the same tables `spec_rules` uses, so an
  editor flags them while typing;
- `defaultSnippets` offer a phase and an execution block in completion.

Bytes are deterministic: keywords sorted, `properties` kept in field order
(the order users read and complete them in), 2-space indent, UTF-8, one
trailing newline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal, cast

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import CoreSchema, core_schema, to_jsonable_python

from shardplan_schemas.events import EVENT_ADAPTER
from shardplan_schemas.plan import ShardPlan
from shardplan_schemas.primitives import LLM_PHASES, PHASE_ORDER
from shardplan_schemas.source import SourceLine
from shardplan_schemas.spec import PhaseConfig, PhaseExecutionConfig, PipelineSpec
from shardplan_schemas.spec_rules import NO_EXECUTION_PHASES, SIZE_FIELD_OF_STRATEGY, SIZE_FIELDS

SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"
SCHEMA_ID_BASE = "https://shardplan.dev/schemas/1/"
"""`$id` prefix: an identifier for catalogs and tools, stable across releases of format 1."""

JsonObject = dict[str, object]

ENUM_VALUE_DOCS: dict[str, dict[str, str]] = {
    # Strategy
    "full": {"strategy": "One shard with every line. Takes no size."},
    "scene": {
        "strategy": "Runs of consecutive lines with the same `scene_id`; "
        "`scene_batch_size` runs a shard (default 1)."
    },
    "chunk": {"strategy": "`chunk_size` consecutive lines a shard (the last may be shorter)."},
    "route": {
        "strategy": "Runs of consecutive lines with the same `route_id`; "
        "`route_batch_size` runs a shard (default 1). Every line needs a `route_id`."
    },
    # Boundaries
    "fixed": {
        "boundaries": "Boundaries by position, as rentl shards: an inserted line shifts every "
        "later boundary."
    },
    "content": {
        "boundaries": "Boundaries by line ids: an inserted or deleted line moves no boundary "
        "outside its neighbourhood, so a rerun after an edit stays small."
    },
    # PhaseName
    "ingest": {"phase": "Reads the source lines; runs no agents, as one `full` unit."},
    "context": {
        "phase": "Builds context (e.g. scene summaries); default sharding `scene`, 1 a shard."
    },
    "pretranslation": {
        "phase": "Labels what translation needs (idioms, terms); default `chunk` of 10."
    },
    "translate": {"phase": "Translates, once per target language; default `chunk` of 10."},
    "qa": {"phase": "Checks translations, once per target language; default `chunk` of 10."},
    "edit": {"phase": "Edits translations, once per target language; default `chunk` of 10."},
    "export": {
        "phase": "Writes the results, once per target language; runs no agents, as one `full` unit."
    },
    # SourceFormat
    "jsonl": {"format": "One `SourceLine` JSON object a line."},
    "csv": {
        "format": "RFC 4180 CSV with a header naming `line_id`, `text` and optional `scene_id`, "
        "`route_id`, `speaker`; an empty cell means absent."
    },
    "txt": {"format": "One text a line; ids `line_<n>` from the line number; blank lines skipped."},
    # RunStatus
    "completed": {"status": "Every unit finished."},
    "failed": {"status": "Some unit failed after its retries."},
    "aborted": {"status": "Too many units failed in a row; the phase stopped at once."},
}
"""Per-value documentation of the enums, keyed by value, then by the property that holds it."""

FALLBACK_EXAMPLES: dict[str, list[object]] = {
    "project": ["golden-sample"],
    "chunk_size": [25],
    "scene_batch_size": [2],
    "route_batch_size": [1],
    "max_parallel_agents": [2],
    "agents": [["direct_translator"]],
    "execution": [{"strategy": "chunk", "chunk_size": 25}],
    "phases": [[{"phase": "ingest"}, {"phase": "translate", "agents": ["direct_translator"]}]],
    "source": [{"path": "script.jsonl", "format": "jsonl"}],
    "languages": [{"source_language": "ja", "target_languages": ["en", "fr"]}],
}
"""Examples for spec properties whose models carry neither examples nor a default."""

PHASE_SNIPPETS: list[JsonObject] = [
    {
        "label": "phase (LLM)",
        "description": "A phase that runs agents, with its sharding.",
        "body": {
            "phase": "${1|context,pretranslation,translate,qa,edit|}",
            "agents": ["${2:agent_name}"],
            "execution": {"strategy": "chunk", "chunk_size": "^${3:25}"},
        },
    },
    {
        "label": "phase (ingest/export)",
        "description": "A phase without agents; it always runs as one unit.",
        "body": {"phase": "${1|ingest,export|}"},
    },
]
EXECUTION_SNIPPETS: list[JsonObject] = [
    {
        "label": "execution: chunk",
        "description": "`chunk_size` lines a shard.",
        "body": {"strategy": "chunk", "chunk_size": "^${1:25}"},
    },
    {
        "label": "execution: scene",
        "description": "`scene_batch_size` scenes a shard.",
        "body": {"strategy": "scene", "scene_batch_size": "^${1:1}"},
    },
    {
        "label": "execution: route",
        "description": "`route_batch_size` routes a shard, with a cap.",
        "body": {
            "strategy": "route",
            "route_batch_size": "^${1:1}",
            "max_parallel_agents": "^${2:2}",
        },
    },
    {
        "label": "execution: full",
        "description": "One shard with every line.",
        "body": {"strategy": "full"},
    },
]


def _strategy_rules() -> JsonObject:
    """`if`/`then` per strategy, from the table `spec_rules` checks (SP310, SP311, SP312)."""
    clauses: list[JsonObject] = []
    for strategy, own_field in SIZE_FIELD_OF_STRATEGY.items():
        forbidden = [field for field in SIZE_FIELDS if field != own_field]
        allowed = f"only `{own_field}` sets a size" if own_field else "no size is allowed"
        condition: JsonObject = {"properties": {"strategy": {"const": strategy}}}
        if strategy != "full":  # an omitted strategy means `full`
            condition["required"] = ["strategy"]
        clauses.append(
            {
                "if": condition,
                "then": {
                    "properties": dict.fromkeys(forbidden, False),
                    "errorMessage": f"With strategy '{strategy}', {allowed}.",
                },
            }
        )
    # `boundaries: content` with `full`, named or implied (SP312): marked on the `boundaries` value.
    clauses.append(
        {
            "if": {"properties": {"strategy": {"const": "full"}}},
            "then": {
                "properties": {
                    "boundaries": {
                        "enum": ["fixed"],
                        "errorMessage": "`boundaries: content` needs strategy chunk, scene or "
                        "route; strategy 'full' (the default) is one shard.",
                    }
                }
            },
        }
    )
    # `chunk` without `chunk_size`: stated as "then the strategy cannot be chunk", so that an
    # editor marks the `strategy` value, where `shardplan validate` reports SP310, rather than
    # the `execution` key (where a plain `required` would put it).
    clauses.append(
        {
            "if": {
                "properties": {"strategy": {"const": "chunk"}},
                "required": ["strategy"],
                "not": {"required": ["chunk_size"]},
            },
            "then": {
                "properties": {
                    "strategy": {
                        "enum": [name for name in SIZE_FIELD_OF_STRATEGY if name != "chunk"],
                        "errorMessage": "Strategy 'chunk' needs `chunk_size` (lines per shard), "
                        "e.g. `chunk_size: 25`.",
                    }
                }
            },
        }
    )
    return {"allOf": clauses}


def _agents_rules() -> JsonObject:
    """`if`/`then` for `agents` (SP305, SP306), from the phase sets `spec_rules` uses."""
    llm_phases = [name for name in PHASE_ORDER if name in LLM_PHASES]
    agentless = [name for name in PHASE_ORDER if name in NO_EXECUTION_PHASES]
    return {
        "allOf": [
            {
                "if": {
                    "properties": {"phase": {"enum": llm_phases}, "enabled": {"const": True}},
                    "required": ["phase"],
                },
                "then": {
                    "required": ["agents"],
                    "properties": {
                        "agents": {
                            "type": "array",
                            "minItems": 1,
                            "errorMessage": "An enabled "
                            + "/".join(llm_phases)
                            + " phase needs at least one agent, or `enabled: false`.",
                        }
                    },
                },
            },
            {
                "if": {"properties": {"phase": {"enum": agentless}}, "required": ["phase"]},
                "then": {
                    "properties": {
                        "agents": {
                            "type": "null",
                            "errorMessage": " and ".join(agentless)
                            + " run no agents; remove `agents`.",
                        }
                    }
                },
                # Like `spec_rules`, which only warns (SP307) about an `execution` on
                # ingest/export: the strategy rules bind the phases that use it.
                "else": {"properties": {"execution": _strategy_rules()}},
            },
        ]
    }


MODEL_EXTRAS: dict[type[BaseModel], Callable[[], JsonObject]] = {
    PhaseExecutionConfig: lambda: {"defaultSnippets": EXECUTION_SNIPPETS},
    PhaseConfig: lambda: {**_agents_rules(), "defaultSnippets": PHASE_SNIPPETS},
}
"""Schema keywords added to a model's object schema: the rules no field type expresses."""

UNIQUE_ITEMS_FIELDS: frozenset[str] = frozenset({"target_languages"})
"""Lists whose items must be unique (SP320 as a schema keyword)."""


@dataclass(frozen=True)
class SchemaLimit:
    """A spec diagnostic the exported schema does not report, and why."""

    kind: Literal["reader", "cross-item", "warning"]
    reason: str


SCHEMA_LIMITS: dict[str, SchemaLimit] = {
    "SP100": SchemaLimit(
        "reader", "the file cannot be read at all (missing, not UTF-8, over 1 MiB)"
    ),
    "SP101": SchemaLimit("reader", "not YAML: the reader fails before any schema applies"),
    "SP102": SchemaLimit(
        "reader",
        "duplicate keys: YAML readers keep the last value, so a schema never sees the first "
        "(yaml-language-server flags them itself)",
    ),
    "SP103": SchemaLimit("reader", "several YAML documents: a schema checks each one alone"),
    "SP105": SchemaLimit("reader", "non-string keys: JSON Schema only knows string keys"),
    "SP106": SchemaLimit("reader", "YAML tags are resolved (or refused) by the reader"),
    "SP107": SchemaLimit("reader", "merge keys (`<<`) are expanded by the reader"),
    "SP108": SchemaLimit("reader", "alias bombs are expanded by the reader"),
    "SP109": SchemaLimit("reader", "nesting depth is limited by the reader"),
    "SP207": SchemaLimit(
        "reader",
        "`no`/`yes`/`on`/`off` are booleans only in YAML 1.1: check-jsonschema reads YAML 1.2 "
        'and sees strings; yaml-language-server flags them with `yaml.yamlVersion: "1.1"`',
    ),
    "SP303": SchemaLimit("cross-item", "a duplicate phase compares two list items' `phase`"),
    "SP304": SchemaLimit("cross-item", "phase order compares the positions of two list items"),
    "SP321": SchemaLimit(
        "cross-item", "a target equal to the source compares two values (draft-07 has no `$data`)"
    ),
    "SP307": SchemaLimit("warning", "`execution` on ingest/export is a warning: the spec is valid"),
}
"""The one list of spec diagnostics the schema cannot express; docs/editors.md repeats it.

Every other SP1xx-SP3xx code is an error the schema rejects too. SP4xx-SP6xx are
about source files and plans, which the spec schema never sees.
"""


def schema_reports(code: str) -> bool:
    """Whether a spec that breaks only `code` is rejected by the exported spec schema too."""
    return code[:3] in ("SP1", "SP2", "SP3") and code not in SCHEMA_LIMITS


CROSS_ITEM_CODES: frozenset[str] = frozenset(
    code for code, limit in SCHEMA_LIMITS.items() if limit.kind == "cross-item"
)
"""Where pydantic rejects what the schema accepts: rules across list items."""


class EditorJsonSchema(GenerateJsonSchema):
    """pydantic's generator, tuned for yaml-language-server and check-jsonschema."""

    schema_dialect = SCHEMA_DIALECT

    def field_title_should_be_set(self, schema: object) -> bool:
        return False

    def sort(self, value: JsonSchemaValue, parent_key: str | None = None) -> JsonSchemaValue:
        return value  # `_ordered` sorts keywords but keeps snippet bodies and examples as written

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        cls = schema["cls"]
        if cls.model_config.get("title") is None:
            json_schema.pop("title", None)
        properties = json_schema.get("properties")
        if isinstance(properties, dict):  # pydantic leaves out defaults made by a factory
            for name, model_field in cls.model_fields.items():
                prop = properties.get(model_field.alias or name)
                if model_field.default_factory is not None and isinstance(prop, dict):
                    default = model_field.get_default(call_default_factory=True)
                    prop.setdefault("default", to_jsonable_python(default))
        extras = MODEL_EXTRAS.get(cls)
        if extras is not None:
            json_schema.update(extras())
        return json_schema

    def generate(self, schema: CoreSchema, mode: JsonSchemaMode = "validation") -> JsonSchemaValue:
        generated = super().generate(schema, mode)
        return _editor_shape(generated)


def _editor_shape(generated: JsonObject) -> JsonObject:
    definitions = cast(JsonObject, generated.pop("$defs", {}))
    generated.pop("discriminator", None)  # OpenAPI's keyword; `event` consts say it all
    shaped = _inline_refs(generated, definitions)
    remaining = {
        name: _inline_refs(body, definitions)
        for name, body in definitions.items()
        if _count_refs(shaped, f"#/definitions/{name}") > 0
    }
    if remaining:  # only multi-use definitions are left; draft-07 calls them `definitions`
        shaped["definitions"] = remaining
    _rewrite(shaped, parent_key=None)
    return shaped


def _count_refs(node: object, target: str) -> int:
    if isinstance(node, dict):
        here = 1 if node.get("$ref") == target else 0
        return here + sum(_count_refs(value, target) for value in node.values())
    if isinstance(node, list):
        return sum(_count_refs(item, target) for item in node)
    return 0


def _inline_refs(node: object, definitions: Mapping[str, object]) -> JsonObject:
    """Replace `$ref`s to definitions used once by the definition itself."""
    root = cast(JsonObject, node)
    counts = {name: _count_refs_everywhere(name, root, definitions) for name in definitions}

    def visit(value: object) -> object:
        if isinstance(value, dict):
            ref = value.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref.removeprefix("#/$defs/")
                if counts.get(name) == 1:
                    siblings = {k: visit(v) for k, v in value.items() if k != "$ref"}
                    body = cast(JsonObject, visit(definitions[name]))
                    return {**body, **siblings}
                return {
                    k: (f"#/definitions/{name}" if k == "$ref" else visit(v))
                    for k, v in value.items()
                }
            return {key: visit(item) for key, item in value.items()}
        if isinstance(value, list):
            return [visit(item) for item in value]
        return value

    return cast(JsonObject, visit(root))


def _count_refs_everywhere(name: str, root: JsonObject, definitions: Mapping[str, object]) -> int:
    target = f"#/$defs/{name}"
    return _count_refs(root, target) + sum(
        _count_refs(body, target) for body in definitions.values()
    )


_CODE_SPAN = re.compile(r"`([^`]*)`")
_OPAQUE_KEYWORDS = frozenset({"examples", "default", "defaultSnippets", "const", "enum", "allOf"})
"""Values that are data, or the rule clauses built above, which need no documenting."""


def _rewrite(node: object, parent_key: str | None) -> None:
    """Collapse nullable unions, then document properties and enum values, in place."""
    if isinstance(node, list):
        for item in node:
            _rewrite(item, parent_key)
        return
    if not isinstance(node, dict):
        return
    _collapse_nullable(node)
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            for name, prop in value.items():
                _rewrite(prop, name)
                if isinstance(prop, dict):
                    _document_property(name, prop)
        elif key not in _OPAQUE_KEYWORDS:
            _rewrite(value, parent_key if key == "items" else key)
    if parent_key in UNIQUE_ITEMS_FIELDS and node.get("type") == "array":
        node["uniqueItems"] = True
    _document_enum(node, parent_key)
    description = node.get("description")
    if isinstance(description, str) and "markdownDescription" not in node:
        node["markdownDescription"] = description
        node["description"] = _CODE_SPAN.sub(r"\1", description)


def _collapse_nullable(node: JsonObject) -> None:
    """`anyOf: [X, {type: null}]` becomes X with `type: [T, "null"]` when X has one type."""
    branches = node.get("anyOf")
    if not isinstance(branches, list) or len(branches) != 2 or {"type": "null"} not in branches:
        return
    other = next(branch for branch in branches if branch != {"type": "null"})
    if not isinstance(other, dict) or not isinstance(other.get("type"), str):
        return
    del node["anyOf"]
    merged: JsonObject = {**other, **node}
    merged["type"] = [other["type"], "null"]
    if "enum" in other:
        merged["enum"] = [*cast(list[object], other["enum"]), None]
    if "const" in other:
        merged["enum"] = [other["const"], None]
        del merged["const"]
    node.clear()
    node.update(merged)


def _document_property(name: str, prop: JsonObject) -> None:
    if "examples" not in prop:
        if name in FALLBACK_EXAMPLES:
            prop["examples"] = FALLBACK_EXAMPLES[name]
        elif prop.get("default") is not None:
            prop["examples"] = [prop["default"]]
        elif isinstance(prop.get("enum"), list):
            prop["examples"] = [v for v in cast(list[object], prop["enum"]) if v is not None]
        elif "const" in prop:
            prop["examples"] = [prop["const"]]


def _document_enum(node: JsonObject, holder: str | None) -> None:
    values = node.get("enum")
    if not isinstance(values, list) or holder is None:
        return
    docs: list[str] = []
    for value in values:
        if value is None:
            docs.append("Not set: the default applies.")
            continue
        doc = ENUM_VALUE_DOCS.get(str(value), {}).get(holder)
        if doc is None:
            return  # an undocumented enum keeps no partial list
        docs.append(doc)
    node["markdownEnumDescriptions"] = docs
    node["enumDescriptions"] = [_CODE_SPAN.sub(r"\1", doc) for doc in docs]


@dataclass(frozen=True)
class SchemaFile:
    """One exported schema: its file name in `generated/` and how to build it."""

    filename: str
    build: Callable[[], JsonObject]


def _model_schema(model: type[BaseModel]) -> Callable[[], JsonObject]:
    return lambda: model.model_json_schema(schema_generator=EditorJsonSchema)


def _events_schema() -> JsonObject:
    schema = EVENT_ADAPTER.json_schema(schema_generator=EditorJsonSchema)
    schema["title"] = "shardplan executor event"
    markdown = (
        "One line of `events.jsonl` in a run directory: an object whose `event` names its kind."
    )
    schema["markdownDescription"] = markdown
    schema["description"] = _CODE_SPAN.sub(r"\1", markdown)
    return schema


SCHEMA_FILES: tuple[SchemaFile, ...] = (
    SchemaFile("pipeline-spec.schema.json", _model_schema(PipelineSpec)),
    SchemaFile("source-line.schema.json", _model_schema(SourceLine)),
    SchemaFile("shard-plan.schema.json", _model_schema(ShardPlan)),
    SchemaFile("events.schema.json", _events_schema),
)

_KEYWORD_ORDER = ("$schema", "$id", "title", "description", "markdownDescription")
_DATA_KEYWORDS = frozenset({"examples", "default", "defaultSnippets", "const", "enum"})


def _ordered(node: object, keep_order: bool = False) -> object:
    """Sorted keywords (a few identifying ones first); property lists and data keep their order."""
    if isinstance(node, list):
        return [_ordered(item, keep_order) for item in node]
    if not isinstance(node, dict):
        return node
    if keep_order:
        return {key: _ordered(value, True) for key, value in node.items()}
    keys = sorted(node, key=lambda k: (_KEYWORD_ORDER.index(k) if k in _KEYWORD_ORDER else 99, k))
    return {key: _ordered_child(key, node[key]) for key in keys}


def _ordered_child(key: str, value: object) -> object:
    if key in _DATA_KEYWORDS:
        return _ordered(value, keep_order=True)
    if key == "properties" and isinstance(value, dict):  # field order, each property sorted
        return {name: _ordered(prop) for name, prop in value.items()}
    return _ordered(value)


def schema_document(schema_file: SchemaFile) -> JsonObject:
    """The finished schema of one file, with `$schema` and `$id`."""
    schema = schema_file.build()
    schema["$schema"] = SCHEMA_DIALECT
    schema["$id"] = SCHEMA_ID_BASE + schema_file.filename
    return cast(JsonObject, _ordered(schema))


def schema_bytes(schema_file: SchemaFile) -> bytes:
    """The exact bytes written to `generated/<filename>`."""
    text = json.dumps(schema_document(schema_file), indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def exported_schemas() -> Iterator[tuple[str, bytes]]:
    """(file name, bytes) of every exported schema, in a fixed order."""
    for schema_file in SCHEMA_FILES:
        yield schema_file.filename, schema_bytes(schema_file)
