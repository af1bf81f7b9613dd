"""What earlier phases produced for a unit (DESIGN §7): the `inputs` of its task.

For each earlier enabled phase, the records of its units in this unit's
language (or without a language) whose shards overlap this unit's lines, in
plan order. So translate sees the context of its scenes, and export sees every
translated line of its language and none of another's. Shards partition the
lines, so the overlapping ones are found by bisection, not by a scan.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable

from shardplan_executor.units import Unit
from shardplan_schemas.task import Record

RecordLoader = Callable[[Unit], list[Record]]


class InputIndex:
    """Finished phases' units, to gather the inputs of the next phases' units."""

    def __init__(self, load_records: RecordLoader) -> None:
        self._load = load_records
        self._phases: list[tuple[str, list[int], dict[tuple[int, str | None], Unit]]] = []
        self._cache: dict[str, list[Record]] = {}

    def add_phase(self, units: list[Unit]) -> None:
        """Register a finished enabled phase's units (every one of them is finished)."""
        if not units:
            return
        phase = units[0].phase
        starts = [shard.start for shard in phase.shards]
        by_shard = {(unit.shard_index, unit.language): unit for unit in units}
        self._phases.append((phase.phase, starts, by_shard))

    def add_empty_phase(self, name: str) -> None:
        """Register an enabled phase with no shards (no lines): it still appears in `inputs`."""
        self._phases.append((name, [], {}))

    def remember(self, unit: Unit, records: list[Record]) -> None:
        """Keep records produced in this run, so they need not be read back."""
        self._cache[unit.unit_id] = records

    def _records(self, unit: Unit) -> list[Record]:
        records = self._cache.get(unit.unit_id)
        if records is None:
            records = self._load(unit)
            self._cache[unit.unit_id] = records
        return records

    def inputs_for(self, unit: Unit) -> dict[str, list[Record]]:
        """The `inputs` of `unit`'s task: every registered (earlier) phase's overlapping records."""
        start, end = unit.shard.start, unit.shard.end
        inputs: dict[str, list[Record]] = {}
        for name, starts, by_shard in self._phases:
            gathered: list[Record] = []
            index = max(bisect_right(starts, start) - 1, 0)
            while index < len(starts) and starts[index] < end:
                for language in (None, unit.language):
                    source = by_shard.get((index, language))
                    if source is not None:
                        gathered.extend(self._records(source))
                    if unit.language is None:
                        break
                index += 1
            inputs[name] = gathered
        return inputs
