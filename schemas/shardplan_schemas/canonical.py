"""Canonical JSON and the plan id (DESIGN §5), shared by compiler and executor.

The plan holds only strings, integers, booleans, null, lists and objects, so
RFC 8785 canonical JSON reduces to sorted keys, no whitespace and UTF-8:
Python's `json.dumps(value, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`. Anyone can recompute a `plan_id` with the standard
library alone (`canonical_json_stdlib`).

`canonical_json` gives the same bytes through orjson with `OPT_SORT_KEYS`,
about 10x faster on a million-line plan: both sort keys by code point (UTF-8
byte order is code-point order), escape the same characters the same way
(`"`, `\\`, control characters as `\\b \\f \\n \\r \\t` or lowercase `\\u00xx`)
and write everything else, non-ASCII included, as raw UTF-8. The forms
differ only where a plan never goes: floats (`1e+16` against `1e16`; a plan
with a float is invalid whatever its id), integers beyond 64 bits and lone
surrogates (orjson refuses both, and `canonical_json` then falls back to the
standard library). tests/schema/test_canonical.py checks the equivalence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import orjson
from pydantic import JsonValue


def canonical_json_stdlib(value: JsonValue) -> bytes:
    """RFC 8785 canonical JSON of a float-free JSON value, by the standard library."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def canonical_json(value: JsonValue) -> bytes:
    """RFC 8785 canonical JSON of a float-free JSON value, as UTF-8 bytes (orjson, fast)."""
    try:
        data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits, a lone surrogate: the standard form decides
        return canonical_json_stdlib(value)
    return data


def compute_plan_id(plan: Mapping[str, JsonValue]) -> str:
    """`sha256:` + hex SHA-256 of the canonical JSON of `plan` without its `plan_id`."""
    content = {key: value for key, value in plan.items() if key != "plan_id"}
    return "sha256:" + hashlib.sha256(canonical_json(content)).hexdigest()
