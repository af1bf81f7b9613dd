"""The stable diagnostic codes: one registry, documented in docs/diagnostics.md.

A code never changes meaning once released; retire a code rather than reuse
it. SARIF rules and the documentation are generated from this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from shardplan_schemas.vocabulary import Severity


@dataclass(frozen=True)
class CodeInfo:
    """What a diagnostic code means."""

    code: str
    name: str
    severity: Severity
    summary: str


_TABLE: tuple[CodeInfo, ...] = (
    # SP1xx: reading the spec file and its YAML
    CodeInfo(
        "SP100",
        "file-unreadable",
        "error",
        "The file cannot be read (missing, a directory, not UTF-8/16/32, too large).",
    ),
    CodeInfo("SP101", "yaml-syntax", "error", "The file is not well-formed YAML."),
    CodeInfo(
        "SP102",
        "duplicate-key",
        "error",
        "A mapping has the same key twice; YAML parsers silently keep the last.",
    ),
    CodeInfo("SP103", "multiple-documents", "error", "The file holds more than one YAML document."),
    CodeInfo("SP104", "not-a-mapping", "error", "The top level of the spec is not a mapping."),
    CodeInfo("SP105", "non-string-key", "error", "A mapping key is not a string."),
    CodeInfo(
        "SP106",
        "forbidden-tag",
        "error",
        "A YAML tag that would construct an object (`!!python/...`, `!!binary`, custom tags).",
    ),
    CodeInfo("SP107", "merge-key", "error", "A YAML merge key (`<<`); write the keys out."),
    CodeInfo(
        "SP108",
        "alias-expansion",
        "error",
        "Anchors and aliases expand to too large a document (an alias bomb).",
    ),
    CodeInfo(
        "SP109", "too-deep", "error", "The YAML nests deeper than any spec does (a nesting bomb)."
    ),
    # SP2xx: the spec against its models
    CodeInfo(
        "SP201",
        "unknown-key",
        "error",
        "A key the spec format does not have (with a did-you-mean).",
    ),
    CodeInfo("SP202", "missing-key", "error", "A required key is missing."),
    CodeInfo(
        "SP203",
        "wrong-type",
        "error",
        "A value has the wrong type (a quoted number is a string, not an integer).",
    ),
    CodeInfo("SP204", "out-of-range", "error", "A number or length is outside its bounds."),
    CodeInfo(
        "SP205",
        "bad-pattern",
        "error",
        "A string does not match its pattern (language codes, agent names).",
    ),
    CodeInfo(
        "SP206",
        "bad-choice",
        "error",
        "A value is not one of the allowed choices (phase name, strategy, format).",
    ),
    CodeInfo(
        "SP207",
        "yaml11-boolean",
        "error",
        "YAML 1.1 read `no`, `yes`, `on` or `off` as a boolean where a string belongs; quote it.",
    ),
    CodeInfo(
        "SP208", "unsupported-version", "error", "`version` is not a supported spec format version."
    ),
    # SP3xx: cross-field rules of the spec (shardplan_schemas.spec_rules)
    CodeInfo("SP303", "duplicate-phase", "error", "A phase appears twice."),
    CodeInfo("SP304", "phase-order", "error", "Phases are not in the canonical order."),
    CodeInfo("SP305", "agents-required", "error", "An enabled LLM phase has no agents."),
    CodeInfo("SP306", "agents-not-allowed", "error", "`agents` on ingest or export."),
    CodeInfo(
        "SP307", "execution-ignored", "warning", "`execution` on ingest or export has no effect."
    ),
    CodeInfo("SP310", "chunk-size-required", "error", "Strategy `chunk` without `chunk_size`."),
    CodeInfo(
        "SP311",
        "size-not-allowed",
        "error",
        "A batch or chunk size that does not belong to the strategy.",
    ),
    CodeInfo(
        "SP312",
        "content-boundaries-need-groups",
        "error",
        "`boundaries: content` with strategy `full`, which has nothing to cut between.",
    ),
    CodeInfo("SP320", "duplicate-target-language", "error", "A target language is listed twice."),
    CodeInfo("SP321", "target-is-source", "error", "A target language equals the source language."),
    # SP4xx: source lines
    CodeInfo(
        "SP401",
        "source-unreadable",
        "error",
        "The source file cannot be read (missing, binary, wrong encoding).",
    ),
    CodeInfo(
        "SP402",
        "bad-record",
        "error",
        "A source record is not well-formed (broken JSON, ragged CSV row).",
    ),
    CodeInfo(
        "SP403", "invalid-line", "error", "A source record does not satisfy the SourceLine model."
    ),
    CodeInfo("SP404", "duplicate-line-id", "error", "Two source lines share a `line_id`."),
    CodeInfo(
        "SP405",
        "missing-column",
        "error",
        "A CSV header lacks a required column, names one twice or leaves one unnamed.",
    ),
    CodeInfo(
        "SP406", "too-many-errors", "error", "More record errors than are reported one by one."
    ),
    # SP5xx: sharding
    CodeInfo(
        "SP501",
        "route-id-missing",
        "error",
        "The `route` strategy needs a `route_id` on every line.",
    ),
    CodeInfo(
        "SP502",
        "split-scene",
        "warning",
        "A scene appears in separate runs and becomes separate groups.",
    ),
    CodeInfo(
        "SP503",
        "split-route",
        "warning",
        "A route appears in separate runs and becomes separate groups.",
    ),
    CodeInfo(
        "SP504",
        "batch-exceeds-groups",
        "warning",
        "A batch size is larger than the number of groups.",
    ),
    CodeInfo(
        "SP505", "cap-exceeds-shards", "warning", "A phase's cap is larger than its shard count."
    ),
    CodeInfo(
        "SP506", "heavy-skew", "warning", "A phase's largest shard is at least 4x its median shard."
    ),
    # SP6xx: plans
    CodeInfo("SP601", "plan-unreadable", "error", "The plan file cannot be read or is not JSON."),
    CodeInfo("SP602", "plan-invalid", "error", "The plan does not satisfy the plan model."),
    CodeInfo(
        "SP603",
        "plan-id-mismatch",
        "error",
        "The plan's content does not match its `plan_id` (edited or corrupted).",
    ),
    CodeInfo(
        "SP604", "source-changed", "error", "The source file no longer matches the plan's sha256."
    ),
    CodeInfo(
        "SP605",
        "plan-stale",
        "error",
        "Recompiling the plan's spec and source gives different bytes.",
    ),
    CodeInfo(
        "SP606",
        "plan-structure",
        "error",
        "The plan's shards are not what the compiler writes (a forged or damaged plan).",
    ),
    # SP7xx: importing a rentl.toml (`shardplan import rentl`)
    CodeInfo(
        "SP700",
        "rentl-unreadable",
        "error",
        "The rentl.toml cannot be read (missing, a directory, not UTF-8, over 1 MiB).",
    ),
    CodeInfo(
        "SP701",
        "toml-syntax",
        "error",
        "The rentl.toml is not valid TOML (or defines a key twice).",
    ),
    CodeInfo(
        "SP702",
        "toml-too-deep",
        "error",
        "Arrays, inline tables or dotted keys nest deeper than any rentl.toml does.",
    ),
    CodeInfo("SP710", "rentl-missing-key", "error", "A key rentl requires is missing."),
    CodeInfo(
        "SP711",
        "rentl-bad-value",
        "error",
        "A value rentl refuses: wrong type, not a choice, a bad language code, a size not > 0.",
    ),
    CodeInfo(
        "SP712", "rentl-duplicate-phase", "error", "A phase appears twice in `[[pipeline.phases]]`."
    ),
    CodeInfo("SP713", "rentl-phase-order", "error", "Phases are not in rentl's canonical order."),
    CodeInfo("SP714", "rentl-agents-required", "error", "An enabled LLM phase has no agents."),
    CodeInfo("SP715", "rentl-agents-not-allowed", "error", "`agents` on ingest or export."),
    CodeInfo(
        "SP716", "rentl-chunk-size-required", "error", "Strategy `chunk` without `chunk_size`."
    ),
    CodeInfo(
        "SP717",
        "rentl-size-not-allowed",
        "error",
        "A chunk or batch size that does not belong to the phase's strategy.",
    ),
    CodeInfo(
        "SP718",
        "rentl-languages",
        "error",
        "A target language listed twice, or equal to the source language.",
    ),
    CodeInfo(
        "SP719",
        "rentl-default-model-required",
        "error",
        "A phase has no `model` and `[pipeline.default_model]` is missing.",
    ),
    CodeInfo(
        "SP720",
        "cannot-carry",
        "error",
        "A value rentl accepts that a shardplan spec cannot hold (over a bound, not snake_case).",
    ),
    CodeInfo(
        "SP730",
        "rentl-unknown-key",
        "warning",
        "A key rentl ignores without a word (with a did-you-mean).",
    ),
    CodeInfo(
        "SP731",
        "execution-without-strategy",
        "warning",
        "An `execution` table without `strategy`: rentl runs the phase as one `full` shard.",
    ),
    CodeInfo(
        "SP732",
        "rentl-execution-ignored",
        "warning",
        "`execution` on ingest or export, which rentl ignores.",
    ),
    CodeInfo(
        "SP733",
        "csv-route",
        "warning",
        "The route strategy on CSV input, which has no `route_id` column in rentl.",
    ),
    CodeInfo(
        "SP734",
        "context-without-scene",
        "warning",
        "Context runs on source lines without `scene_id`, which rentl's context agent fails on.",
    ),
    CodeInfo(
        "SP735",
        "txt-empty-line",
        "warning",
        "TXT input with empty lines: rentl refuses them, shardplan skips them.",
    ),
    CodeInfo(
        "SP740",
        "not-carried",
        "info",
        "What the spec does not carry (models, endpoints, logging, cache), listed once.",
    ),
)

CODES: dict[str, CodeInfo] = {info.code: info for info in _TABLE}
