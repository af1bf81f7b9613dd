"""Read a rentl.toml and make its spec: bytes → TOML → rentl's model → findings → spec text.

A hostile file gets the treatment of a hostile spec: at most 1 MiB is read,
the text must be UTF-8, nesting is bounded before tomllib recurses into it,
and every way tomllib or the models can fail becomes a positioned
diagnostic, never a traceback. The spec is made only when nothing is an
error, so a rentl.toml rentl itself would refuse imports to nothing.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from shardplan_compiler import exit_codes
from shardplan_compiler.codes import CODES
from shardplan_compiler.relative_paths import relative_path
from shardplan_compiler.rentl.config import RentlConfig
from shardplan_compiler.rentl.findings import (
    Finding,
    carry_findings,
    model_findings,
    not_carried_finding,
    rule_findings,
    unknown_key_findings,
)
from shardplan_compiler.rentl.source_checks import source_findings
from shardplan_compiler.rentl.spec_render import SpecPlace, render_spec
from shardplan_compiler.rentl.toml_positions import (
    MAX_TOML_DEPTH,
    TomlPositions,
    huge_integer_position,
    scan_positions,
)
from shardplan_compiler.yaml_tree import MAX_SPEC_BYTES, read_spec_file
from shardplan_schemas.diagnostics import Diagnostic

SCHEMA_URL = "https://shardplan.dev/schemas/1/pipeline-spec.schema.json"
"""The spec schema's `$id`: the modeline the editor docs recommend outside this repository."""

IO_CODES = frozenset({"SP700"})
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_TOML_AT_END = re.compile(r"\s*\(at end of document\)$")


@dataclass
class RentlImport:
    """What importing found, and the spec text when nothing was an error."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    spec_text: str | None = None

    @property
    def exit_code(self) -> int:
        if any(d.code in IO_CODES for d in self.diagnostics):
            return exit_codes.USAGE
        if self.spec_text is None or any(d.severity == "error" for d in self.diagnostics):
            return exit_codes.INPUT_ERRORS
        return exit_codes.OK


def _pointer(path: tuple[str | int, ...]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


class _Reporter:
    def __init__(self, display: str) -> None:
        self.display = display
        self.diagnostics: list[Diagnostic] = []

    def at(self, code: str, line: int, column: int, message: str, pointer: str = "") -> None:
        self.diagnostics.append(
            Diagnostic(
                path=self.display,
                line=line,
                column=column,
                severity=CODES[code].severity,
                code=code,
                message=message,
                pointer=pointer,
            )
        )

    def finding(self, finding: Finding, positions: TomlPositions) -> None:
        where = (
            positions.value(finding.path) if finding.at == "value" else positions.key(finding.path)
        )
        self.at(finding.code, *where, finding.message, _pointer(finding.path))

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)


def decode_config(raw: bytes) -> tuple[str | None, tuple[int, int, str] | None]:
    """The text of a rentl.toml, or (line, column, why) it is not text we read."""
    if len(raw) > MAX_SPEC_BYTES:
        return None, (
            1,
            1,
            f"the file is over {MAX_SPEC_BYTES:,} bytes (1 MiB); a rentl.toml is a few "
            "hundred — is this really one?",
        )
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        return None, (
            line,
            column,
            f"the file is not UTF-8 (byte 0x{raw[error.start]:02x} cannot be decoded); "
            "TOML is UTF-8: save it as UTF-8",
        )


def parse_config(
    text: str, report: _Reporter
) -> tuple[dict[str, object] | None, TomlPositions | None]:
    """tomllib's reading of `text` with the scanner's positions, or the positioned reason why not."""
    positions = scan_positions(text)
    if positions.too_deep is not None:
        report.at(
            "SP702",
            *positions.too_deep,
            f"arrays, inline tables or dotted keys nest deeper than {MAX_TOML_DEPTH} levels; "
            "a rentl.toml nests three",
        )
        return None, None
    try:
        return tomllib.loads(text), positions
    except tomllib.TOMLDecodeError as error:
        line, column, message = _toml_error_place(str(error), positions)
        report.at("SP701", line, column, f"not valid TOML: {message}")
    except ValueError as error:  # an integer of more than 4,300 digits
        line, column = huge_integer_position(text) or (1, 1)
        report.at("SP701", line, column, f"not valid TOML as Python reads it: {error}")
    except RecursionError:
        report.at("SP702", 1, 1, "the TOML nests too deep to read")
    return None, None


def _toml_error_place(message: str, positions: TomlPositions) -> tuple[int, int, str]:
    duplicate = "twice" in message or "overwrite" in message
    if duplicate and positions.duplicates:
        path, first, again = positions.duplicates[0]
        name = ".".join(str(part) for part in path)
        return (
            *again,
            f"`{name}` is defined twice (first at line {first[0]}, column {first[1]})",
        )
    match = _TOML_AT.search(message)
    if match:
        return int(match[1]), int(match[2]), message[: match.start()]
    end = _TOML_AT_END.search(message)
    if end:
        line = max(1, len(positions.keys) and max(place[0] for place in positions.keys.values()))
        return line, 1, message[: end.start()] + " (at the end of the file)"
    return 1, 1, message


def import_rentl(
    config: Path, spec_dir: Path, schema_ref: str, command: str, display: str | None = None
) -> RentlImport:
    """Import one rentl.toml for a spec that will live in `spec_dir`.

    `schema_ref` is the modeline target as written; `command` the command
    line the header names for importing again; `display` how diagnostics
    name the file (default: the path as given).
    """
    report = _Reporter(display if display is not None else config.as_posix())
    raw, why = read_spec_file(config)
    if raw is None:
        report.at("SP700", 1, 1, f"cannot read the rentl config: it {why or 'cannot be read'}")
        return RentlImport(report.diagnostics)
    text, problem = decode_config(raw)
    if text is None:
        assert problem is not None
        report.at("SP700", problem[0], problem[1], problem[2])
        return RentlImport(report.diagnostics)
    data, positions = parse_config(text, report)
    if data is None or positions is None:
        return RentlImport(report.diagnostics)
    findings = unknown_key_findings(data) + rule_findings(data) + carry_findings(data)
    try:
        model = RentlConfig.model_validate(data)
    except ValidationError as error:
        findings += model_findings(error)
        model = None
    info = not_carried_finding(data)
    if info is not None:
        findings.append(info)
    for finding in dict.fromkeys(findings):
        report.finding(finding, positions)
    if model is None or report.has_errors:
        return RentlImport(report.diagnostics)
    source = rentl_source_path(config, model)
    for finding in source_findings(model, source, _shown(source)):
        report.finding(finding, positions)
    place = SpecPlace(
        schema_ref=schema_ref,
        config=relative_path(config, spec_dir),
        source=relative_path(source, spec_dir),
        command=command,
    )
    return RentlImport(report.diagnostics, render_spec(model, place))


def rentl_source_path(config: Path, model: RentlConfig) -> Path:
    """The input file as rentl finds it: input_path under workspace_dir, under the config's directory."""
    paths = model.project.paths
    base = config.parent / paths.workspace_dir / paths.input_path
    return Path(os.path.normpath(base))


def _shown(path: Path) -> str:
    return path.as_posix()
