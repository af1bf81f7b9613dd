"""Load a spec file and report every problem in it, each at its YAML position.

Three layers each add what they can see, and all of them run on every file so
that one run shows every error: the YAML reader (`yaml_tree`), the pydantic
model (`PipelineSpec`, whose errors are mapped back to the exact node and
given a stable code and a message that says what to do), and the cross-field
rules (`spec_rules`), run on the raw data so that they report even when other
fields are broken. The model's own `spec_rule` error is dropped: the rules
report the same findings one by one, at their own positions.
"""

from __future__ import annotations

import difflib
import functools
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from shardplan_compiler.codes import CODES
from shardplan_compiler.yaml_tree import (
    Pointer,
    PositionIndex,
    YamlProblem,
    is_covered,
    parse_yaml,
    read_spec_file,
    read_spec_text,
)
from shardplan_schemas.diagnostics import Diagnostic
from shardplan_schemas.primitives import LANGUAGE_PATTERN
from shardplan_schemas.spec import PipelineSpec
from shardplan_schemas.spec_rules import spec_rule_violations

KEY_POINTED_RULES = frozenset({"SP306", "SP307", "SP311"})
"""Rules about a key that should not be there: they point at the key, not its value."""


@dataclass(frozen=True)
class LoadedSpec:
    """A spec file as read: its bytes, the model (when valid) and every finding."""

    path: Path
    raw: bytes | None
    spec: PipelineSpec | None
    diagnostics: list[Diagnostic]
    positions: PositionIndex

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)


def pointer_text(pointer: Pointer) -> str:
    """RFC 6901 text of a pointer tuple."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in pointer)


def load_spec(path: Path) -> LoadedSpec:
    """Read, parse and validate one spec file; never raises for bad input."""
    positions = PositionIndex()
    raw, why = read_spec_file(path)
    if raw is None:
        return _unreadable(path, positions, why or "cannot be read")
    text, problem = read_spec_text(raw)
    if text is None:
        assert problem is not None
        return LoadedSpec(path, raw, None, [_from_problem(path, problem)], positions)
    try:
        return _validate(path, raw, text)
    except RecursionError:
        diagnostic = _diagnostic(path, "SP109", (), (1, 1), "the document nests too deeply to read")
        return LoadedSpec(path, raw, None, [diagnostic], positions)


def _unreadable(path: Path, positions: PositionIndex, why: str) -> LoadedSpec:
    diagnostic = _diagnostic(path, "SP100", (), (1, 1), f"{path} {why}")
    return LoadedSpec(path, None, None, [diagnostic], positions)


def _diagnostic(
    path: Path, code: str, pointer: Pointer, position: tuple[int, int], message: str
) -> Diagnostic:
    return Diagnostic(
        path=str(path),
        line=position[0],
        column=position[1],
        severity=CODES[code].severity,
        code=code,
        message=message,
        pointer=pointer_text(pointer),
    )


def _from_problem(path: Path, problem: YamlProblem) -> Diagnostic:
    return _diagnostic(
        path, problem.code, problem.pointer, (problem.line, problem.column), problem.message
    )


def _validate(path: Path, raw: bytes, text: str) -> LoadedSpec:
    document = parse_yaml(text)
    positions = document.positions
    diagnostics = [_from_problem(path, problem) for problem in document.problems]
    spec: PipelineSpec | None = None
    data = document.data
    if data is not None:
        try:
            spec = PipelineSpec.model_validate(data)
        except ValidationError as error:
            for details in error.errors(include_url=False, include_input=False):
                if details["type"] == "spec_rule":
                    continue
                code, pointer, position, message = _model_finding(details, data, positions)
                if not is_covered(document.covered, pointer, code):
                    diagnostics.append(_diagnostic(path, code, pointer, position, message))
        if isinstance(data.get("version"), bool):
            # `True == 1` in Python, so the model's `Literal[1]` lets `version: true` through.
            message = "`version` is the boolean true; the only spec format version is 1 — write `version: 1`"
            diagnostics.append(
                _diagnostic(path, "SP208", ("version",), positions.locate(("version",)), message)
            )
        for violation in spec_rule_violations(data):
            if is_covered(document.covered, violation.pointer, violation.code):
                continue
            position = (
                positions.locate_key(violation.pointer)
                if violation.code in KEY_POINTED_RULES
                else positions.locate(violation.pointer)
            )
            diagnostics.append(
                _diagnostic(path, violation.code, violation.pointer, position, violation.message)
            )
    unique = {(d.line, d.column, d.code, d.pointer, d.message): d for d in diagnostics}
    ordered = [unique[key] for key in sorted(unique)]
    if any(d.severity == "error" for d in ordered):
        spec = None
    return LoadedSpec(path, raw, spec, ordered, positions)


# --- pydantic errors -> code, position, message -------------------------------------------------

_RANGE_TYPES = {
    "greater_than": ("gt", "greater than {}"),
    "greater_than_equal": ("ge", "at least {}"),
    "less_than": ("lt", "less than {}"),
    "less_than_equal": ("le", "at most {}"),
    "too_short": ("min_length", "at least {} item(s) long"),
    "too_long": ("max_length", "at most {} items long"),
    "string_too_short": ("min_length", "at least {} character(s) long"),
    "string_too_long": ("max_length", "at most {} characters long"),
}
_EXPECTED = {
    "int_type": "an integer",
    "int_from_float": "an integer",
    "string_type": "a string",
    "bool_type": "`true` or `false`",
    "float_type": "a number",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
_PATTERN_MEANING = {
    LANGUAGE_PATTERN: "a language code: two lowercase letters, optionally `-` and a two-letter "
    "uppercase region (`ja`, `en`, `pt-BR`)",
    r"^[a-z][a-z0-9_]*$": "an agent name in snake_case (lowercase letters, digits and `_`, "
    "starting with a letter), e.g. `direct_translator`",
}


def _model_finding(
    details: ErrorDetails, data: Mapping[str, object], positions: PositionIndex
) -> tuple[str, Pointer, tuple[int, int], str]:
    kind = details["type"]
    loc: Pointer = tuple(details["loc"])
    ctx = details.get("ctx") or {}
    name = _display(loc)
    present, value = _value_at(data, loc)
    if kind == "extra_forbidden":
        return "SP201", loc, positions.locate_key(loc), _unknown_key_message(loc)
    if kind == "missing":
        return "SP202", loc, positions.locate_key(loc[:-1]), _missing_message(loc)
    position = positions.locate(loc)
    yaml11 = positions.yaml11_booleans.get(loc)
    if yaml11 is not None and kind in ("string_type", "literal_error", "string_pattern_mismatch"):
        return "SP207", loc, position, _yaml11_message(name, yaml11, loc)
    if loc == ("version",) and kind not in _RANGE_TYPES:
        hint = " (without quotes)" if isinstance(value, str) else ""
        return (
            "SP208",
            loc,
            position,
            f"`version` is {_describe(value)}; the only spec format version is 1 — "
            f"write `version: 1`{hint}",
        )
    if kind in _EXPECTED or kind.endswith("_type"):
        expected = _EXPECTED.get(kind, details["msg"].removeprefix("Input should be ").lower())
        return "SP203", loc, position, _type_message(name, expected, value, present)
    if kind in _RANGE_TYPES:
        bound_key, template = _RANGE_TYPES[kind]
        bound = ctx.get(bound_key)
        must = template.format(f"{bound:,}" if isinstance(bound, int) else bound)
        size = f" ({len(value)} long)" if isinstance(value, (str, list)) else ""
        shown = _describe(value) if not isinstance(value, list) else "a list"
        return "SP204", loc, position, f"`{name}` is {shown}{size}; it must be {must}"
    if kind == "string_pattern_mismatch":
        return "SP205", loc, position, _pattern_message(name, value, str(ctx.get("pattern", "")))
    if kind == "literal_error":
        return "SP206", loc, position, _choice_message(name, value, str(ctx.get("expected", "")))
    return "SP203", loc, position, f"`{name}`: {details['msg']}"


def _display(loc: Pointer) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else ("." if text else "") + part
    return text or "the spec"


def _where(parent: Pointer) -> str:
    return f"`{_display(parent)}`" if parent else "the top level of the spec"


def _value_at(data: object, loc: Pointer) -> tuple[bool, object]:
    current = data
    for part in loc:
        if isinstance(current, list):
            if not isinstance(part, int) or not 0 <= part < len(current):
                return False, None
            current = current[part]
        elif isinstance(current, Mapping) and part in current:
            current = current[part]
        else:
            return False, None
    return True, current


def _describe(value: object) -> str:
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f'the string "{shown}"'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__  # pragma: no cover - YAML gives no other types


def _unwrap(annotation: object) -> object:
    """Strip Annotated and `X | None` to the type a value must have."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


@functools.lru_cache(maxsize=1024)
def _model_at(loc: Pointer) -> type[BaseModel] | None:
    """The model class that describes the mapping at `loc` in a spec.

    Cached: a file with many unknown keys asks about the same few parents
    again and again (the hostile corpus has a 1 MiB spec of 100,000 of them).
    """
    current: object = PipelineSpec
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            if get_origin(current) is not list:
                return None
            current = get_args(current)[0]
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = field.annotation
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unknown_key_message(loc: Pointer) -> str:
    key = str(loc[-1])
    parent = loc[:-1]
    model = _model_at(parent)
    allowed = sorted(model.model_fields) if model else []
    text = f"unknown key `{key}` in {_where(parent)}"
    matches = difflib.get_close_matches(key, allowed, n=3, cutoff=0.6)
    if not matches:
        matches = [name for name in allowed if name.lower() == key.lower().replace("-", "_")]
    if matches:
        options = " or ".join(f"`{match}`" for match in matches)
        return f"{text}; did you mean {options}?"
    if model is not None:
        for field_name in allowed:
            child = _model_at((*parent, field_name))
            if child is None:
                child = _model_at((*parent, field_name, 0))
            if child is not None and key in child.model_fields:
                return f"{text}; `{key}` belongs under `{field_name}` — move it there"
    if allowed:
        return f"{text}; the keys allowed here are " + ", ".join(f"`{a}`" for a in allowed)
    return text


def _missing_message(loc: Pointer) -> str:
    field_name = str(loc[-1])
    model = _model_at(loc[:-1])
    description = ""
    if model is not None and field_name in model.model_fields:
        description = model.model_fields[field_name].description or ""
    about = f" ({description.rstrip('.')})" if description else ""
    return f"{_where(loc[:-1])} is missing the required key `{field_name}`{about}; add it"


def _yaml11_message(name: str, text: str, loc: Pointer) -> str:
    value = "true" if text.lower() in ("yes", "on", "y") else "false"
    what = "language code" if "languages" in loc else "text"
    return (
        f"`{name}` is the boolean {value}: YAML 1.1 reads a plain `{text}` as a boolean; "
        f'if you mean the {what} `{text}`, quote it: "{text}"'
    )


def _type_message(name: str, expected: str, value: object, present: bool) -> str:
    text = f"`{name}` must be {expected}, but it is {_describe(value) if present else 'absent'}"
    if isinstance(value, str):
        stripped = value.strip()
        if expected in ("an integer", "a number") and _is_number(stripped):
            return f"{text}: a quoted number is a string — remove the quotes"
        if expected == "`true` or `false`" and stripped.lower() in ("true", "false"):
            return f"{text}: a quoted boolean is a string — remove the quotes"
    if expected == "an integer" and isinstance(value, float):
        return f"{text}: write a whole number"
    if value is None:
        return f"{text}: give it a value or remove the key"
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _pattern_message(name: str, value: object, pattern: str) -> str:
    meaning = _PATTERN_MEANING.get(pattern, f"the pattern `{pattern}`")
    text = f"`{name}` is {_describe(value)}, which is not {meaning}"
    if pattern == LANGUAGE_PATTERN and isinstance(value, str):
        language, _, region = value.replace("_", "-").partition("-")
        fixed = language.lower() + (f"-{region.upper()}" if region else "")
        if fixed != value and _matches_language(fixed):
            return f"{text}; did you mean `{fixed}`?"
    return text


def _matches_language(text: str) -> bool:
    return re.fullmatch(LANGUAGE_PATTERN, text) is not None


def _choice_message(name: str, value: object, expected: str) -> str:
    choices = [choice.strip().strip("'") for choice in expected.replace(" or ", ", ").split(",")]
    choices = [choice for choice in choices if choice]
    text = f"`{name}` is {_describe(value)}; it must be one of " + ", ".join(
        f"`{choice}`" for choice in choices
    )
    if isinstance(value, str):
        matches = difflib.get_close_matches(value.lower(), choices, n=1, cutoff=0.6)
        if matches:
            return f"{text} — did you mean `{matches[0]}`?"
    return text


def spec_diagnostics_sorted(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    """Diagnostics in the order every renderer prints them: path, line, column, code."""
    return sorted(diagnostics, key=lambda d: (d.path, d.line, d.column, d.code))
