"""The formats' plain vocabulary: names, orders, patterns and bounds.

Nothing here imports pydantic. `shardplan validate` runs on every commit
through pre-commit, and its fast path for clean specs needs these names
without paying for building the models.
"""

from __future__ import annotations

from typing import Literal

ID_PATTERN = r"^[a-z]+(?:_[0-9]+)+$"
ID_MAX_LENGTH = 200
"""The longest line, scene or route id, in characters."""
LANGUAGE_PATTERN = r"^[a-z]{2}(?:-[A-Z]{2})?$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
FINGERPRINT_PATTERN = r"^[0-9a-f]{32}$"
"""A shard fingerprint: the first 128 bits of a SHA-256, in hex (plan format 2)."""

PhaseName = Literal["ingest", "context", "pretranslation", "translate", "qa", "edit", "export"]
"""The seven pipeline phases. Their canonical execution order is `PHASE_ORDER`."""

PHASE_ORDER: tuple[PhaseName, ...] = (
    "ingest",
    "context",
    "pretranslation",
    "translate",
    "qa",
    "edit",
    "export",
)
LLM_PHASES: frozenset[PhaseName] = frozenset(
    {"context", "pretranslation", "translate", "qa", "edit"}
)
"""Phases that run agents: `agents` is required on them when enabled."""
PER_LANGUAGE_PHASES: frozenset[PhaseName] = frozenset({"translate", "qa", "edit", "export"})
"""Phases that run once per target language (same shards for each)."""

Strategy = Literal["full", "scene", "chunk", "route"]
"""How a phase splits its lines into shards (DESIGN §4)."""

Boundaries = Literal["fixed", "content"]
"""Where shard boundaries fall: by position (`fixed`, DESIGN §4) or by line ids (`content`, §8)."""

SourceFormat = Literal["jsonl", "csv", "txt"]

Severity = Literal["error", "warning", "info"]
"""`error` fails a check; `warning` fails it only with `--strict`; `info` never does."""

MAX_SIZE = 1_000_000
MAX_CAP = 10_000
