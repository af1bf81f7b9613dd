"""Canonical JSON and the plan id (DESIGN §5), shared by compiler and executor.

The plan holds only strings, integers, booleans, null, lists and objects, so
RFC 8785 canonical JSON reduces to sorted keys, no whitespace and UTF-8.
Anyone can recompute a `plan_id` with the standard library alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from pydantic import JsonValue


def canonical_json(value: JsonValue) -> bytes:
    """RFC 8785 canonical JSON of a float-free JSON value, as UTF-8 bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def compute_plan_id(plan: Mapping[str, JsonValue]) -> str:
    """`sha256:` + hex SHA-256 of the canonical JSON of `plan` without its `plan_id`."""
    content = {key: value for key, value in plan.items() if key != "plan_id"}
    return "sha256:" + hashlib.sha256(canonical_json(content)).hexdigest()
