"""The imported spec, written from a template: our comments and key order, byte-stable.

Not `yaml.dump`: the point of the file is what a reviewer reads in it, so
every value rentl would fill in by default is written out with a comment
saying so, and the layout is the one of the examples. The same
`RentlConfig` and paths always give the same bytes. Scalars are written
plain only where YAML reads them back as the same string (`no` and `on`
are booleans to YAML 1.1, so a Norwegian target is quoted).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import yaml

from shardplan_compiler.rentl.config import (
    DEFAULT_EXECUTION,
    NO_SHARD_PHASES,
    RENTL_RETRY_DEFAULTS,
    RentlConfig,
    RentlExecution,
    RentlPhase,
)

_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_PLAIN = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./-]*")
MAX_CONSECUTIVE_FAILURES = 3


@dataclass(frozen=True)
class SpecPlace:
    """Where the spec goes, as the paths written into it see it."""

    schema_ref: str
    """The modeline's `$schema`: a URL, or a path relative to the spec's directory."""
    config: str
    """The rentl.toml, relative to the spec's directory."""
    source: str
    """The source file rentl reads, relative to the spec's directory."""
    command: str
    """The command line that re-imports this spec, for the header."""


def _quoted(value: str) -> str:
    """A YAML double-quoted scalar: JSON's escapes, plus YAML's for what it may not hold raw.

    PyYAML refuses DEL, C1 controls, surrogates and U+FFFE/U+FFFF in a file,
    and reads U+0085, U+2028 and U+2029 as line breaks; those are escaped.
    """
    text = json.dumps(value, ensure_ascii=False)
    return _UNSAFE.sub(lambda match: f"\\u{ord(match[0]):04x}", text)


def yaml_string(value: str) -> str:
    """`value` as a YAML scalar that reads back as this very string."""
    if _PLAIN.fullmatch(value):
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:  # pragma: no cover - the pattern admits only plain scalars
            pass
    return _quoted(value)


def yaml_float(value: float) -> str:
    """A float YAML 1.1 reads back as a float (PyYAML wants a dot and a signed exponent)."""
    text = repr(float(value))
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}e{exponent}" if exponent else mantissa


def comment_text(value: str) -> str:
    """A string from rentl.toml, safe inside a `#` comment (no line breaks, quoted)."""
    return _quoted(value)


def _flow_list(values: list[str]) -> str:
    return "[" + ", ".join(yaml_string(value) for value in values) + "]"


def _execution_line(phase: RentlPhase) -> tuple[str, str]:
    """The phase's `execution` flow mapping and its comment."""
    execution = phase.execution
    if execution is None:
        strategy, size = DEFAULT_EXECUTION[phase.phase]
        if strategy == "scene":
            return (
                f"{{strategy: scene, scene_batch_size: {size}}}",
                f"rentl default: scene, batch {size}",
            )
        return f"{{strategy: chunk, chunk_size: {size}}}", f"rentl default: chunk, {size} lines"
    parts = [f"strategy: {execution.strategy}"]
    notes: list[str] = []
    if "strategy" not in execution.model_fields_set:
        notes.append("rentl: an execution table without strategy means full")
    parts += _sizes(execution, notes)
    if execution.max_parallel_agents is not None:
        parts.append(f"max_parallel_agents: {execution.max_parallel_agents}")
    return "{" + ", ".join(parts) + "}", "; ".join(notes)


def _sizes(execution: RentlExecution, notes: list[str]) -> list[str]:
    if execution.strategy == "chunk" and execution.chunk_size is not None:
        return [f"chunk_size: {execution.chunk_size}"]
    if execution.strategy == "scene":
        if execution.scene_batch_size is None:
            notes.append("rentl default: batch 1")
        return [f"scene_batch_size: {execution.scene_batch_size or 1}"]
    if execution.strategy == "route":
        if execution.route_batch_size is None:
            notes.append("rentl default: batch 1")
        return [f"route_batch_size: {execution.route_batch_size or 1}"]
    return []


def _with_comment(line: str, comment: str) -> str:
    return f"{line}  # {comment}" if comment else line


def _phase_lines(phase: RentlPhase) -> list[str]:
    lines = [f"  - phase: {phase.phase}"]
    if not phase.enabled:
        lines.append("    enabled: false")
    if phase.phase in NO_SHARD_PHASES:
        return lines
    if phase.agents:
        lines.append(f"    agents: {_flow_list(phase.agents)}")
    flow, comment = _execution_line(phase)
    lines.append(_with_comment(f"    execution: {flow}", comment))
    return lines


def _retry_lines(config: RentlConfig) -> list[str]:
    retry = config.retry
    given = retry.model_fields_set if retry is not None else set()
    values = {
        "max_retries": retry.max_retries if retry else RENTL_RETRY_DEFAULTS["max_retries"],
        "backoff_s": retry.backoff_s if retry else RENTL_RETRY_DEFAULTS["backoff_s"],
        "max_backoff_s": retry.max_backoff_s if retry else RENTL_RETRY_DEFAULTS["max_backoff_s"],
    }
    lines = ["retry:"]
    for key, value in values.items():
        text = str(int(value)) if key == "max_retries" else yaml_float(float(value))
        notes = [] if key in given else ["rentl default"]
        if key == "max_backoff_s":
            notes.append("rentl 0.1.8 reads it but does not apply it; shardplan's executor does")
        lines.append(_with_comment(f"  {key}: {text}", "; ".join(notes)))
    return lines


def render_spec(config: RentlConfig, place: SpecPlace) -> str:
    """The spec text for a valid rentl config (ends with a newline)."""
    project = config.project
    languages = project.languages
    paths = project.paths
    lines = [
        f"# yaml-language-server: $schema={place.schema_ref}",
        f"# Imported from {place.config} by `shardplan import rentl`: it shards every phase",
        "# as rentl 0.1.8 would. rentl's defaults are written out, each with a comment.",
        f"# To import again after editing {place.config}: {place.command}",
        "version: 1",
        f"project: {yaml_string(project.project_name)}",
        "source:",
        _with_comment(
            f"  path: {yaml_string(place.source)}",
            f"rentl: workspace_dir {comment_text(paths.workspace_dir)} + input_path "
            f"{comment_text(paths.input_path)}",
        ),
        f"  format: {project.formats.input_format}",
        "languages:",
        f"  source_language: {yaml_string(languages.source_language)}",
        f"  target_languages: {_flow_list(languages.target_languages)}",
        "concurrency:",
        "  # rentl runs a phase's shards one at a time unless the phase's execution table",
        "  # sets max_parallel_agents. Raise this to run more at once in every phase, or set",
        "  # execution.max_parallel_agents on one phase.",
        "  max_parallel_agents: 1",
        _with_comment(
            f"  max_consecutive_failures: {MAX_CONSECUTIVE_FAILURES}",
            "shardplan only: stop a phase after this many failed units in a row",
        ),
        *_retry_lines(config),
        "phases:",
    ]
    for phase in config.pipeline.phases:
        lines += _phase_lines(phase)
    return "\n".join(lines) + "\n"
