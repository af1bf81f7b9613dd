"""Where the time goes, when a benchmark misses its target.

A missed target is only useful to the lead when it says what to fix: which
imports dominate start-up (`python -X importtime`) and which functions
dominate the work (cProfile), measured on the same input as the benchmark.
"""

from __future__ import annotations

import pstats
import statistics
import subprocess
import tempfile
import time
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
    by_owner = self_time_by_owner(costs)
    lines.append("import self time by owner (our modules one by one, others by top package):")
    lines += [f"  {us / 1000:7.1f} ms  {owner}" for owner, us in by_owner[:limit]]
    return lines


def self_time_by_owner(costs: Sequence[ImportCost]) -> list[tuple[str, int]]:
    """Self time summed per third-party top-level package, per module for ours.

    Cumulative times hide where the cost sits: the first of our modules to
    import pydantic is charged for all of pydantic. Self times, grouped, say
    how much is pydantic itself and how much is building our models.
    """
    totals: dict[str, int] = {}
    for cost in costs:
        top = cost.module.split(".", 1)[0]
        owner = cost.module if top.startswith("shardplan_") else top
        totals[owner] = totals.get(owner, 0) + cost.self_us
    return sorted(totals.items(), key=lambda item: item[1], reverse=True)


def interpreter_startup_ms(python: str, runs: int = 5) -> float:
    """Median wall time of `python -c pass`: the part of start-up no tool can avoid."""
    times: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([python, "-c", "pass"], check=True)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


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
