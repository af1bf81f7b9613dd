"""Safe, positioned YAML loading for spec files.

PyYAML's constructors forget where a value came from and silently keep the
last of two equal keys. So we let libyaml (through `yaml.CSafeLoader`) only
*compose* the document into a node tree, which keeps every node's line and
column and constructs no objects, and convert that tree to plain data
ourselves. On the way we record the position of every key and value under its
JSON pointer and reject what a spec must not contain: duplicate keys, several
documents, a non-mapping top level, non-string keys, object-constructing or
custom tags, merge keys, alias bombs and nesting bombs.

Problems that leave the rest of the document readable (a duplicate key, a bad
tag, a merge key) do not stop the conversion, so the model and the rules can
still report everything else in the same run; such a problem also marks its
pointer so that the model's follow-up complaint about the same spot is not
reported a second time.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from shardplan_compiler.file_checks import unreadable_reason

PointerPart = str | int
Pointer = tuple[PointerPart, ...]

MAX_SPEC_BYTES = 1024 * 1024
"""A spec file larger than this is refused: real specs are a few hundred bytes."""
MAX_DEPTH = 64
"""Deeper nesting than this is refused; a spec nests five levels at most."""
MAX_INT_CHARS = 64
"""Longer integer literals are refused before conversion: Python refuses to convert more
than 4,300 decimal digits (and a base-60 literal converts in quadratic time), while no
spec number is over 1,000,000."""
MAX_ALIAS_VISITS = 10_000
"""Nodes reached again through aliases; a billion-laughs document exceeds it at once."""

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_TIMESTAMP, _MERGE, _SEQ, _MAP = (_TAG + t for t in ("timestamp", "merge", "seq", "map"))

_SCALARS = SafeConstructor()


NodePosition = tuple[int, int, int, int]
"""Where one value sits: key line, key column, value line, value column (1-based).

For a list item the "key" is the item itself. A plain tuple, not a dataclass:
one is made for every node of every spec, and `validate` reads hundreds of specs.
"""


@dataclass
class PositionIndex:
    """Maps JSON pointers (as tuples) to 1-based positions in the YAML text."""

    positions: dict[Pointer, NodePosition] = field(default_factory=dict)
    yaml11_booleans: dict[Pointer, str] = field(default_factory=dict)
    """Pointers whose value was a plain `yes`/`no`/`on`/`off`... that YAML 1.1 read as a boolean."""

    def _nearest(self, pointer: Pointer) -> NodePosition | None:
        for end in range(len(pointer), -1, -1):
            found = self.positions.get(pointer[:end])
            if found is not None:
                return found
        return None

    def locate(self, pointer: Pointer) -> tuple[int, int]:
        """Line and column of the value at `pointer`, or of its nearest existing ancestor."""
        found = self._nearest(pointer)
        return (found[2], found[3]) if found else (1, 1)

    def locate_key(self, pointer: Pointer) -> tuple[int, int]:
        """Line and column of the key naming `pointer` (the item itself for list items)."""
        found = self._nearest(pointer)
        return (found[0], found[1]) if found else (1, 1)


@dataclass(frozen=True)
class YamlProblem:
    """A problem found while reading the YAML, before any model sees the data."""

    code: str
    pointer: Pointer
    line: int
    column: int
    message: str


@dataclass
class YamlDocument:
    """The outcome of reading a spec file's YAML.

    `data` is None when the document cannot be used at all (unreadable file,
    syntax error, several documents, not a mapping, a bomb); otherwise it is
    the plain data, possibly with the offending parts of `problems` left out.
    """

    data: dict[str, object] | None
    positions: PositionIndex
    problems: list[YamlProblem]
    covered: dict[Pointer, frozenset[str] | None]
    """Pointers already reported here, with the model codes that must not repeat
    the report there (None: every code)."""


class _Abort(Exception):
    """Stops the conversion: the document cannot be used."""

    def __init__(self, problem: YamlProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def read_spec_file(path: Path) -> tuple[bytes | None, str | None]:
    """The bytes of a spec file, or why they cannot be read (a sentence after the path).

    Only regular files are read (a FIFO would block forever, a device may never
    end), and at most one byte more than a spec may hold, so a huge file is
    refused without reading it all.
    """
    reason = unreadable_reason(path)
    if reason is not None:
        return None, reason
    try:
        with path.open("rb") as file:
            return file.read(MAX_SPEC_BYTES + 1), None
    except FileNotFoundError:
        return None, "does not exist"
    except PermissionError:
        return None, "cannot be read: permission denied"
    except OSError as error:
        return None, f"cannot be read: {error.strerror or error}"


_WIDE_ENCODINGS: tuple[tuple[bytes, str, str], ...] = (
    # UTF-32 first: its little-endian mark FF FE 00 00 starts with UTF-16's FF FE.
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)
"""Byte order marks YAML 1.2 reads, with the codec for what follows the mark."""


def _encoding_of(raw: bytes) -> tuple[int, str, str]:
    """Where the text starts (after a byte order mark), its codec and its name in messages.

    Windows PowerShell 5 writes UTF-16 LE with a mark by default (`>` and
    `Out-File`); YAML allows UTF-16 and UTF-32 with a mark, so such a spec is
    read like UTF-8, and positions stay in characters.
    """
    for mark, codec, name in _WIDE_ENCODINGS:
        if raw.startswith(mark):
            return len(mark), codec, name
    return len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0, "utf-8", "UTF-8"


def read_spec_text(raw: bytes) -> tuple[str | None, YamlProblem | None]:
    """Decode a spec file's bytes: UTF-8, or UTF-16/32 after a byte order mark.

    Refuses files that are too large or cannot be decoded, naming the line
    and column (in characters) where decoding stopped.
    """
    if len(raw) > MAX_SPEC_BYTES:
        return None, YamlProblem(
            "SP100",
            (),
            1,
            1,
            f"the file is over {MAX_SPEC_BYTES:,} bytes (1 MiB), the most a spec may hold "
            "— is this really a spec file?",
        )
    start, codec, name = _encoding_of(raw)
    body = raw[start:]
    try:
        return body.decode(codec), None
    except UnicodeDecodeError as error:
        before = body[: error.start].decode(codec, "replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        bad = body[error.start : error.end].hex()
        return None, YamlProblem(
            "SP100",
            (),
            line,
            column,
            f"the file is not {name} (byte{'s' if len(bad) > 2 else ''} 0x{bad} cannot be "
            "decoded); save it as UTF-8",
        )


def parse_yaml(text: str) -> YamlDocument:
    """Compose `text` safely and convert it to plain data with positions."""
    positions = PositionIndex()
    loader = yaml.CSafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        return YamlDocument(None, positions, [_syntax_problem(error)], {})
    except yaml.YAMLError as error:  # unmarked reader errors, e.g. a control character
        line, column = 1, 1
        if isinstance(error, yaml.reader.ReaderError):
            before = text[: error.position]
            line = before.count("\n") + 1
            column = error.position - (before.rfind("\n") + 1) + 1
        problem = YamlProblem(
            "SP101", (), line, column, f"the file is not well-formed YAML: {error}"
        )
        return YamlDocument(None, positions, [problem], {})
    finally:
        loader.dispose()
    if root is None:
        problem = YamlProblem(
            "SP104",
            (),
            1,
            1,
            "the file is empty; a spec is a mapping with `version`, `project`, ...",
        )
        return YamlDocument(None, positions, [problem], {})
    if not isinstance(root, MappingNode) or root.tag != _MAP:
        line, column = _mark(root)
        kind = "a list" if isinstance(root, SequenceNode) else "a single value"
        problem = YamlProblem(
            "SP104",
            (),
            line,
            column,
            f"the top level of a spec must be a mapping of keys (`version: 1`, `project: ...`), "
            f"not {kind}",
        )
        return YamlDocument(None, positions, [problem], {})
    converter = _Converter(positions)
    try:
        data = converter.mapping(root, (), 0)
    except _Abort as abort:
        return YamlDocument(None, positions, [*converter.problems, abort.problem], {})
    except RecursionError:
        line, column = _mark(root)
        problem = YamlProblem("SP109", (), line, column, "the document nests too deeply to read")
        return YamlDocument(None, positions, [problem], {})
    positions.positions.setdefault((), (*_mark(root), *_mark(root)))
    return YamlDocument(data, positions, converter.problems, converter.covered)


def _syntax_problem(error: yaml.MarkedYAMLError) -> YamlProblem:
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    if error.context == "expected a single document in the stream":
        return YamlProblem(
            "SP103",
            (),
            line,
            column,
            "the file holds more than one YAML document (a second `---`); a spec file holds "
            "exactly one — split it into separate files",
        )
    what = " ".join(part for part in (error.context, error.problem) if part)
    return YamlProblem("SP101", (), line, column, f"the file is not well-formed YAML: {what}")


def _describe_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


class _Converter:
    """Turns a composed node tree into plain data, recording positions and problems."""

    def __init__(self, positions: PositionIndex) -> None:
        self.positions = positions
        self.problems: list[YamlProblem] = []
        self.covered: dict[Pointer, frozenset[str] | None] = {}
        self.seen: set[int] = set()
        self.active: set[int] = set()
        self.alias_visits = 0

    def report(
        self, code: str, pointer: Pointer, node: Node, message: str, covers: frozenset[str] | None
    ) -> None:
        line, column = _mark(node)
        self.problems.append(YamlProblem(code, pointer, line, column, message))
        if pointer not in self.covered or covers is None:
            self.covered[pointer] = covers

    def enter(self, node: SequenceNode | MappingNode, pointer: Pointer) -> None:
        """Guard a collection against recursive anchors and alias bombs."""
        # The composed tree shares an anchored node between its uses, so it knows
        # where an anchor was defined but not where an alias used it: alias
        # problems are reported at the top-level key whose value holds them.
        if id(node) in self.active:
            raise _Abort(
                YamlProblem(
                    "SP108",
                    pointer[:1],
                    *self.positions.locate_key(pointer[:1]),
                    f"an alias under `{pointer[0]}` refers to a node that contains it "
                    "(a recursive anchor); write the value out",
                )
            )
        if id(node) in self.seen:
            # Reached again through an alias: its children are repeated work.
            self.alias_visits += len(node.value)
            if self.alias_visits > MAX_ALIAS_VISITS:
                raise _Abort(
                    YamlProblem(
                        "SP108",
                        pointer[:1],
                        *self.positions.locate_key(pointer[:1]),
                        f"anchors and aliases under `{pointer[0]}` expand to more than "
                        f"{MAX_ALIAS_VISITS:,} repeated nodes (an alias bomb); write the "
                        "values out instead",
                    )
                )
        else:
            self.seen.add(id(node))

    def value(self, node: Node, pointer: Pointer, depth: int) -> object:
        if isinstance(node, ScalarNode):
            return self.scalar(node, pointer)
        if depth > MAX_DEPTH:
            line, column = _mark(node)
            raise _Abort(
                YamlProblem(
                    "SP109",
                    pointer,
                    line,
                    column,
                    f"the document nests more than {MAX_DEPTH} levels deep here; "
                    "a spec needs five at most",
                )
            )
        if not isinstance(node, (SequenceNode, MappingNode)):  # pragma: no cover
            raise AssertionError(f"unknown node kind {type(node).__name__}")
        self.enter(node, pointer)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return self.sequence(node, pointer, depth)
            return self.mapping(node, pointer, depth)
        finally:
            self.active.discard(id(node))

    def scalar(self, node: ScalarNode, pointer: Pointer) -> object:
        tag = node.tag
        if tag in (_STR, _TIMESTAMP):
            # No spec field holds a date: keep `2024-01-01` as the text it is.
            return node.value
        if tag == _INT:
            if len(node.value) > MAX_INT_CHARS:
                self.report(
                    "SP204",
                    pointer,
                    node,
                    f"the integer is {len(node.value):,} characters long; no number in a spec "
                    "is above 1,000,000",
                    None,
                )
                return None
            return _SCALARS.construct_yaml_int(node)
        if tag == _BOOL:
            if not node.style and node.value.lower() not in ("true", "false"):
                self.positions.yaml11_booleans[pointer] = node.value
            return _SCALARS.construct_yaml_bool(node)
        if tag == _NULL:
            return None
        if tag == _FLOAT:
            return _SCALARS.construct_yaml_float(node)
        self.forbidden_tag(node, pointer)
        return node.value

    def forbidden_tag(self, node: Node, pointer: Pointer) -> None:
        self.report(
            "SP106",
            pointer,
            node,
            f"the tag `{_describe_tag(node.tag)}` is not allowed: a spec holds only plain "
            "strings, numbers, booleans, lists and mappings — remove the tag",
            None,
        )

    # `sequence` and `mapping` run for every node of every spec: plain string
    # scalars, the bulk of a spec, take an inline path.

    def sequence(self, node: SequenceNode, pointer: Pointer, depth: int) -> list[object]:
        if node.tag != _SEQ:
            self.forbidden_tag(node, pointer)
        positions = self.positions.positions
        items: list[object] = []
        for index, item in enumerate(node.value):
            item_pointer = (*pointer, index)
            mark = item.start_mark
            positions[item_pointer] = (
                mark.line + 1,
                mark.column + 1,
                mark.line + 1,
                mark.column + 1,
            )
            if type(item) is ScalarNode and item.tag == _STR:
                items.append(item.value)
            else:
                items.append(self.value(item, item_pointer, depth + 1))
        return items

    def mapping(self, node: MappingNode, pointer: Pointer, depth: int) -> dict[str, object]:
        if node.tag != _MAP:
            self.forbidden_tag(node, pointer)
        positions = self.positions.positions
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            if type(key_node) is ScalarNode and key_node.tag == _STR:
                key: str = key_node.value
            else:
                odd_key = self.key(key_node, pointer)
                if odd_key is None:
                    continue
                key = odd_key
            key_pointer = (*pointer, key)
            if key in result:
                self.report(
                    "SP102",
                    key_pointer,
                    key_node,
                    f"the key `{key}` appears twice in this mapping (first on line "
                    f"{positions[key_pointer][0]}); YAML would silently keep only the last — "
                    "remove one",
                    frozenset(),
                )
                continue
            key_mark, value_mark = key_node.start_mark, value_node.start_mark
            positions[key_pointer] = (
                key_mark.line + 1,
                key_mark.column + 1,
                value_mark.line + 1,
                value_mark.column + 1,
            )
            if type(value_node) is ScalarNode and value_node.tag == _STR:
                result[key] = value_node.value
            else:
                result[key] = self.value(value_node, key_pointer, depth + 1)
        return result

    def key(self, key_node: Node, pointer: Pointer) -> str | None:
        """The key's string, or None when the entry must be skipped."""
        if isinstance(key_node, ScalarNode) and key_node.tag == _MERGE:
            self.report(
                "SP107",
                pointer,
                key_node,
                "merge keys (`<<`) are not allowed in a spec: they hide where a value comes "
                "from — write the keys out",
                frozenset({"SP202"}),
            )
            return None
        if not isinstance(key_node, ScalarNode):
            self.report(
                "SP105",
                pointer,
                key_node,
                "a mapping key must be a plain string, not a list or mapping",
                frozenset(),
            )
            return None
        text = str(key_node.value)
        if key_node.tag == _STR:
            return text
        if key_node.tag in (_INT, _FLOAT, _BOOL, _NULL):
            kind = {_INT: "an integer", _FLOAT: "a number", _BOOL: "a boolean", _NULL: "null"}
            hint = (
                " (YAML 1.1 reads `yes`, `no`, `on` and `off` as booleans)"
                if key_node.tag == _BOOL
                else ""
            )
            self.report(
                "SP105",
                (*pointer, text),
                key_node,
                f"the key `{text}` is read as {kind[key_node.tag]}{hint}; keys must be "
                f'strings — quote it: "{text}"',
                None,
            )
        else:
            self.forbidden_tag(key_node, (*pointer, text))
        return text


def is_covered(
    covered: Mapping[Pointer, frozenset[str] | None], pointer: Pointer, code: str
) -> bool:
    """Whether a YAML problem already reported `code` at `pointer` or around it."""
    for end in range(len(pointer), -1, -1):
        if pointer[:end] in covered:
            codes = covered[pointer[:end]]
            if codes is None or code in codes:
                return True
    return False
