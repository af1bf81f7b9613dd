"""Where each table and key of a TOML file sits: tomllib parses, but gives no positions.

A small scanner of table headers, keys and the shape of values (strings,
arrays, inline tables), enough to point every finding at `rentl.toml:line:col`
and to find what tomllib reports badly or not at all: a key or table given
twice (tomllib names the first only, or says "at end of document") and
nesting so deep that tomllib would exhaust Python's recursion limit.

It never raises and always ends: every step consumes at least one
character, and nesting is counted on an explicit stack rather than by
recursion. On text that is not valid TOML its answers are best effort; the
importer uses them for positions only after tomllib has accepted the file,
and for the nesting limit before.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

TomlPath = tuple[str | int, ...]
"""A key path into the parsed document: table and key names, and array indexes."""

MAX_TOML_DEPTH = 32
"""Arrays and inline tables nested deeper than this, or dotted keys longer, are refused;
a rentl.toml nests three levels."""

_WS = re.compile(r"[ \t]*")
_WS_NL_COMMENTS = re.compile(r"(?:[ \t\r\n]+|#[^\n]*)*")
_TO_LINE_END = re.compile(r"[^\n]*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_BASIC = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_LITERAL = re.compile(r"'[^'\n]*'")
_ML_BASIC = re.compile(r'"""(?:[^"\\]|\\[\s\S]|"(?!""))*"""(?:""|")?(?!")')
_ML_LITERAL = re.compile(r"'''(?:[^']|'(?!''))*'''(?:''|')?(?!')")
_SCALAR = re.compile(r"[^\s,\]\}#]+")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))")
_HUGE_INTEGER = re.compile(r"(?<![\w.])[+-]?[0-9][0-9_]{4299,}")


@dataclass
class TomlPositions:
    """Positions (1-based line and column) of the keys and values of one TOML text."""

    keys: dict[TomlPath, tuple[int, int]] = field(default_factory=dict)
    """Where a key (or a table header's last name) first names each path."""
    values: dict[TomlPath, tuple[int, int]] = field(default_factory=dict)
    """Where the value of each path starts (for a table: its header)."""
    duplicates: list[tuple[TomlPath, tuple[int, int], tuple[int, int]]] = field(
        default_factory=list
    )
    """Paths defined twice: (path, first place, second place)."""
    too_deep: tuple[int, int] | None = None
    """Where nesting first went past `MAX_TOML_DEPTH`, if it did."""

    def key(self, path: TomlPath) -> tuple[int, int]:
        """The key naming `path`, else the nearest enclosing one that has a position, else 1:1."""
        for end in range(len(path), 0, -1):
            found = self.keys.get(path[:end])
            if found is not None:
                return found
        return (1, 1)

    def value(self, path: TomlPath) -> tuple[int, int]:
        """Where the value at `path` starts, else where its key is."""
        found = self.values.get(path)
        return found if found is not None else self.key(path)


def huge_integer_position(text: str) -> tuple[int, int] | None:
    """The place of an integer literal longer than Python will convert (4,300 digits)."""
    match = _HUGE_INTEGER.search(text)
    if match is None:
        return None
    return _Scanner(text).place(match.start())


def scan_positions(text: str) -> TomlPositions:
    """Scan `text` for the positions of its tables, keys and values (never raises)."""
    return _Scanner(text).scan()


def _unescape(body: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match[1] or match[2]
        if code is not None:
            try:
                return chr(int(code, 16))
            except ValueError:  # beyond U+10FFFF: tomllib refuses the file anyway
                return ""
        return _ESCAPES.get(match[3], match[3])

    return _ESCAPE.sub(one, body)


@dataclass
class _Frame:
    kind: str  # "array" or "inline"
    path: TomlPath
    next_index: int = 0


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.out = TomlPositions()
        self.arrays_of_tables: dict[TomlPath, int] = {}
        self.defined: dict[TomlPath, tuple[int, int]] = {}

    def place(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, index)
        return line, index - self.line_starts[line - 1] + 1

    def _skip(self, pattern: re.Pattern[str], i: int) -> int:
        match = pattern.match(self.text, i)
        return match.end() if match else i

    # -- statements ---------------------------------------------------------------------------
    def scan(self) -> TomlPositions:
        table: TomlPath = ()
        i = 0
        while i < self.n:
            i = self._skip(_WS_NL_COMMENTS, i)
            if i >= self.n:
                break
            start = i
            if self.text[i] == "[":
                i, table = self._header(i)
            else:
                i = self._key_value(i, table)
            if self.out.too_deep is not None:
                break
            i = self._skip(_TO_LINE_END, i)
            if i == start:  # never stay in place
                i += 1
        return self.out

    def _header(self, i: int) -> tuple[int, TomlPath]:
        is_array = self.text.startswith("[[", i)
        header_at = i
        names, i = self._key(i + (2 if is_array else 1))
        if not names:
            return i, ()
        path: list[str | int] = []
        for index, (name, at) in enumerate(names):
            last = index == len(names) - 1
            path.append(name)
            self.out.keys.setdefault(tuple(path), self.place(at))
            self.out.values.setdefault(tuple(path), self.place(header_at))
            if last and is_array:
                count = self.arrays_of_tables.get(tuple(path), 0)
                self.arrays_of_tables[tuple(path)] = count + 1
                path.append(count)
                self.out.keys[tuple(path)] = self.place(header_at)
                self.out.values[tuple(path)] = self.place(header_at)
            elif tuple(path) in self.arrays_of_tables:
                path.append(self.arrays_of_tables[tuple(path)] - 1)
        resolved = tuple(path)
        if not is_array:
            here = self.place(header_at)
            earlier = self.defined.get(resolved)
            if earlier is not None:
                self.out.duplicates.append((resolved, earlier, here))
            else:
                self.defined[resolved] = here
        return i, resolved

    def _key(self, i: int) -> tuple[list[tuple[str, int]], int]:
        """A dotted key at `i`: its names with their offsets, and the offset after it."""
        names: list[tuple[str, int]] = []
        while True:
            i = self._skip(_WS, i)
            at = i
            match = (
                _BASIC.match(self.text, i)
                or _LITERAL.match(self.text, i)
                or _BARE_KEY.match(self.text, i)
            )
            if match is None:
                return names, i
            token = match[0]
            if token.startswith('"'):
                name = _unescape(token[1:-1])
            elif token.startswith("'"):
                name = token[1:-1]
            else:
                name = token
            names.append((name, at))
            if len(names) > MAX_TOML_DEPTH:  # `[a.a.a…]`: paths this long cost quadratic time
                self.out.too_deep = self.place(at)
                return [], self.n
            i = self._skip(_WS, match.end())
            if i < self.n and self.text[i] == ".":
                i += 1
                continue
            return names, i

    def _assign(
        self, base: TomlPath, names: list[tuple[str, int]], i: int
    ) -> tuple[TomlPath, int] | None:
        """Record a `key =`; the key's full path and the offset after `=`, or None."""
        if not names:
            return None
        path = base
        for name, at in names:
            path = (*path, name)
            self.out.keys.setdefault(path, self.place(at))
        if i >= self.n or self.text[i] != "=":
            return None
        here = self.place(names[-1][1])
        earlier = self.defined.get(path)
        if earlier is not None:
            self.out.duplicates.append((path, earlier, here))
        else:
            self.defined[path] = here
        return path, i + 1

    def _key_value(self, i: int, table: TomlPath) -> int:
        names, i = self._key(i)
        assigned = self._assign(table, names, i)
        if assigned is None:
            return i
        path, i = assigned
        return self._value(i, path)

    # -- values ---------------------------------------------------------------------------------
    def _value(self, i: int, path: TomlPath) -> int:
        """Scan one value (with everything nested in it) and return the offset after it."""
        stack: list[_Frame] = []
        current = path
        expect_value = True
        while True:
            if expect_value:
                i = self._skip(_WS_NL_COMMENTS if stack else _WS, i)
                if i >= self.n:
                    return i
                char = self.text[i]
                self.out.values.setdefault(current, self.place(i))
                if char in "[{":
                    stack.append(_Frame("array" if char == "[" else "inline", current))
                    if len(stack) > MAX_TOML_DEPTH:
                        self.out.too_deep = self.place(i)
                        return self.n
                    i += 1
                    i, current, expect_value = self._open(stack, i)
                else:
                    i = self._scalar(i)
                    expect_value = False
                continue
            if not stack:
                return i
            top = stack[-1]
            i = self._skip(_WS_NL_COMMENTS, i)
            char = self.text[i] if i < self.n else ""
            if char == ",":
                i, current, expect_value = self._open(stack, i + 1)
            elif (char == "]" and top.kind == "array") or (char == "}" and top.kind == "inline"):
                stack.pop()
                i += 1
            else:  # not TOML; tomllib says where
                return i

    def _open(self, stack: list[_Frame], i: int) -> tuple[int, TomlPath, bool]:
        """After `[`, `{` or `,`: the next element's path, or the end of the container."""
        top = stack[-1]
        i = self._skip(_WS_NL_COMMENTS, i)
        char = self.text[i] if i < self.n else ""
        if (char == "]" and top.kind == "array") or (char == "}" and top.kind == "inline"):
            stack.pop()
            return i + 1, top.path, False
        if top.kind == "array":
            element = (*top.path, top.next_index)
            top.next_index += 1
            return i, element, True
        names, i = self._key(i)
        assigned = self._assign(top.path, names, i)
        if assigned is None:
            stack.clear()
            return i, top.path, False
        path, i = assigned
        return i, path, True

    def _scalar(self, i: int) -> int:
        for pattern in (_ML_BASIC, _ML_LITERAL, _BASIC, _LITERAL, _SCALAR):
            match = pattern.match(self.text, i)
            if match is not None and match.end() > i:
                return match.end()
        return i + 1
