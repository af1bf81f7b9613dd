"""Where the time goes, when a benchmark misses its target.

A missed target is only useful to the lead when it says what to fix: which
imports dominate start-up (`python -X importtime`) and which functions
dominate the work (cProfile), measured on the same input as the benchmark.
"""

from __future__ import annotations

import pstats
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ImportCost:
    """One entry of `-X importtime`: a module and its cumulative import time."""

    module: str
    cumulative_us: int
    self_us: int
    depth: int


def parse_importtime(stderr: str) -> list[ImportCost]:
    """Parse `python -X importtime` output (`import time: self | cumulative | name`)."""
    costs: list[ImportCost] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        name = parts[2].rstrip()
        stripped = name.lstrip(" ")
        depth = (len(name) - len(stripped) - 1) // 2
        costs.append(
            ImportCost(
                module=stripped,
                self_us=int(parts[0].strip()),
                cumulative_us=int(parts[1].strip()),
                depth=depth,
            )
        )
    return costs


def heaviest_imports(
    python: str,
    args: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    limit: int = 10,
    max_depth: int = 2,
) -> list[str]:
    """The imports with the largest cumulative time, up to `max_depth` levels below the script."""
    completed = subprocess.run(
        [python, "-X", "importtime", *args],
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    costs = parse_importtime(completed.stderr)
    total_us = sum(cost.cumulative_us for cost in costs if cost.depth == 0)
    shallow = sorted(
        (cost for cost in costs if cost.depth <= max_depth),
        key=lambda cost: cost.cumulative_us,
        reverse=True,
    )
    lines = [f"imports total {total_us / 1000:.0f} ms; heaviest (cumulative, depth ≤ {max_depth}):"]
    lines += [
        f"  {cost.cumulative_us / 1000:7.1f} ms  {'  ' * cost.depth}{cost.module}"
        for cost in shallow[:limit]
    ]
    return lines


def heaviest_functions(
    python: str, args: Sequence[str], env: Mapping[str, str], cwd: Path, limit: int = 12
) -> list[str]:
    """The functions with the largest own time (cProfile) for one run of `python args…`."""
    with tempfile.TemporaryDirectory() as scratch:
        stats_path = Path(scratch) / "profile.out"
        subprocess.run(
            [python, "-m", "cProfile", "-o", str(stats_path), *args],
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        if not stats_path.exists():
            return ["cProfile wrote no statistics"]
        stats = pstats.Stats(str(stats_path))
        # pstats keeps its table in an untyped attribute; read it defensively.
        table: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = getattr(
            stats, "stats", {}
        )
        total = sum(entry[2] for entry in table.values())
        ranked = sorted(table.items(), key=lambda item: item[1][2], reverse=True)[:limit]
        lines = [
            f"cProfile: {total:.2f} s of own time in total; heaviest functions (own, cumulative):"
        ]
        for (filename, lineno, function), (_, calls, own, cumulative, _) in ranked:
            where = _short_path(filename)
            lines.append(
                f"  {own:6.3f} s {cumulative:7.3f} s  {calls:>9} calls  {function} ({where}:{lineno})"
            )
        return lines


def _short_path(filename: str) -> str:
    """`site-packages/pydantic/main.py` rather than the whole absolute path."""
    for marker in ("site-packages/", "/compiler/", "/schemas/", "/executor/", "/lib/python"):
        if marker in filename:
            return marker.strip("/") + "/" + filename.split(marker, 1)[1]
    return filename
