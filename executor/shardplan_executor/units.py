"""Units of work: each shard of an enabled phase, once per target language.

A unit's id (`<phase>.<lang>:<line id>`, or `<phase>:<line id>` for a phase
without languages) names it in the journal and the events,
so it must be derived the same way everywhere: here. The line id is the id of
the source line at the shard's start, as the executor read it from the
verified source, never a string taken from the plan: a forged key must not
choose what a unit is called (DESIGN §7).

A million-line plan has about 725,000 units, so units are made as the window
reaches them (`iter_phase_units`), from the phase's shard arrays; which ones
are finished is a byte per unit (`Finished`), not a set of ids.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from shardplan_executor.plan_reader import PhaseShards
from shardplan_executor.store import segment_path
from shardplan_schemas.plan import PlanPhase, Shard


@dataclass(slots=True, eq=False)
class Unit:
    """One shard of one phase in one language (or in none).

    Not frozen: a frozen dataclass sets each of its 10 fields through
    `object.__setattr__`, which cost a few percent of a run that makes
    730,000 units; nothing assigns to a unit after it is made.
    """

    unit_id: str
    phase_index: int
    order: int
    """Position of the unit in its phase, in plan order (shard, then language)."""
    phase: PlanPhase
    shard_index: int
    """Position of the shard in its phase."""
    start: int
    end: int
    sha256: str
    """The shard's fingerprint."""
    line_id: str
    """Id of the source line at the shard's start, from the verified source."""
    language: str | None

    @property
    def shard(self) -> Shard:
        """The shard as the plan model has it (key, start, end, sha256)."""
        return Shard.model_construct(
            key=f"{self.phase.phase}:{self.line_id}",
            start=self.start,
            end=self.end,
            sha256=self.sha256,
        )

    @property
    def segment(self) -> str:
        """The segment holding the unit's records (`store`), relative to the run directory."""
        return segment_path(self.phase.phase, self.language)


def unit_id(phase: str, language: str | None, line_id: str) -> str:
    """`<phase>.<lang>:<line id>`, or `<phase>:<line id>` without a language."""
    if language is None:
        return f"{phase}:{line_id}"
    return f"{phase}.{language}:{line_id}"


def languages_of(phase: PlanPhase) -> list[str | None]:
    """`[None]` for a phase without languages, else its target languages."""
    return [None] if phase.target_languages is None else list(phase.target_languages)


def unit_count(phase: PlanPhase, shards: PhaseShards) -> int:
    """How many units the phase has (none when disabled)."""
    return len(shards) * len(languages_of(phase)) if phase.enabled else 0


def make_unit(
    phase_index: int,
    phase: PlanPhase,
    shards: PhaseShards,
    start_ids: dict[int, str],
    shard_index: int,
    language_index: int,
) -> Unit:
    """The unit of shard `shard_index` in the phase's `language_index`-th language."""
    languages = languages_of(phase)
    language = languages[language_index]
    start = shards.starts[shard_index]
    line_id = start_ids[start]
    return Unit(
        unit_id=unit_id(phase.phase, language, line_id),
        phase_index=phase_index,
        order=shard_index * len(languages) + language_index,
        phase=phase,
        shard_index=shard_index,
        start=start,
        end=shards.ends[shard_index],
        sha256=shards.fingerprint(shard_index),
        line_id=line_id,
        language=language,
    )


def iter_phase_units(
    phase_index: int,
    phase: PlanPhase,
    shards: PhaseShards,
    start_ids: dict[int, str],
    skip: bytearray | None = None,
) -> Iterator[Unit]:
    """The phase's units in plan order (shards in order, each in every language).

    Units whose byte in `skip` (indexed by `order`) is set are left out.
    Made here rather than by `make_unit` per unit: the names and the
    shard's fields are looked up once per shard (a million-line run makes
    730,000 units).
    """
    if not phase.enabled:
        return
    languages = languages_of(phase)
    width = len(languages)
    name = phase.phase
    heads = [name if language is None else f"{name}.{language}" for language in languages]
    starts, ends = shards.starts, shards.ends
    fingerprint = shards.fingerprint
    for shard_index in range(len(shards)):
        base = shard_index * width
        if skip is not None and all(skip[base : base + width]):
            continue
        start = starts[shard_index]
        line_id = start_ids[start]
        end, sha256 = ends[shard_index], fingerprint(shard_index)
        for language_index in range(width):
            if skip is not None and skip[base + language_index]:
                continue
            yield Unit(
                f"{heads[language_index]}:{line_id}",
                phase_index,
                base + language_index,
                phase,
                shard_index,
                start,
                end,
                sha256,
                line_id,
                languages[language_index],
            )


def phase_shards(phase: PlanPhase) -> PhaseShards:
    """A phase model's shards as arrays."""
    return PhaseShards(
        array("q", (shard.start for shard in phase.shards)),
        array("q", (shard.end for shard in phase.shards)),
        "".join(shard.sha256 for shard in phase.shards).encode("ascii"),
    )


def phase_units(phase_index: int, phase: PlanPhase, line_ids: Sequence[str]) -> list[Unit]:
    """All of a phase model's units in plan order (for small plans and tests).

    `line_ids` are the verified source's ids; each shard's unit ids and file
    names are made from the id at its start.
    """
    shards = phase_shards(phase)
    start_ids = {start: line_ids[start] for start in shards.starts}
    return list(iter_phase_units(phase_index, phase, shards, start_ids))


Head: TypeAlias = tuple[int, int, int, "array[int]", bytes]
"""Of a unit id head (`<phase>[.<lang>]`): the phase's index, the language's index, the
phase's width, its shards' starts and fingerprints (see `Finished.heads`)."""


class Finished:
    """Which units are finished: one byte per unit, per phase, indexed by `Unit.order`."""

    def __init__(
        self, phases: Sequence[PlanPhase], shards: Sequence[PhaseShards], start_ids: dict[int, str]
    ) -> None:
        self._phases = list(phases)
        self._shards = list(shards)
        self.flags = [bytearray(unit_count(p, s)) for p, s in zip(phases, shards, strict=True)]
        self.position_of = {line_id: start for start, line_id in start_ids.items()}
        """Position of the source line with this id, for the lines that start a shard."""
        self._phase_index: dict[str, int] = {p.phase: i for i, p in enumerate(phases)}
        self._language_index = [
            {language: i for i, language in enumerate(languages_of(phase))} for phase in phases
        ]
        self._widths = [len(languages_of(phase)) for phase in phases]
        self.count = 0

    def locate(self, unit_id_text: str) -> tuple[int, int, int] | None:
        """`(phase index, shard index, order)` of the unit with this id, or None."""
        head, _, line_id = unit_id_text.partition(":")
        phase_name, _, language = head.partition(".")
        phase_index = self._phase_index.get(phase_name)
        position = self.position_of.get(line_id)
        if phase_index is None or position is None:
            return None
        if not self._phases[phase_index].enabled:
            return None
        language_index = self._language_index[phase_index].get(language or None)
        if language_index is None or (language == "" and "." in head):
            return None
        starts = self._shards[phase_index].starts
        shard_index = bisect_left(starts, position)
        if shard_index >= len(starts) or starts[shard_index] != position:
            return None
        return phase_index, shard_index, shard_index * self._widths[phase_index] + language_index

    def heads(self) -> dict[str, Head]:
        """By unit id head (`<phase>[.<lang>]`) of each enabled phase: its index, the
        language's index, the phase's width, its shards' starts and fingerprints."""
        found: dict[str, Head] = {}
        for phase_index, phase in enumerate(self._phases):
            if not phase.enabled:
                continue
            shards = self._shards[phase_index]
            width = self._widths[phase_index]
            for language_index, language in enumerate(languages_of(phase)):
                head = phase.phase if language is None else f"{phase.phase}.{language}"
                found[head] = (
                    phase_index,
                    language_index,
                    width,
                    shards.starts,
                    shards.fingerprints,
                )
        return found

    def add(self, phase_index: int, order: int) -> None:
        if not self.flags[phase_index][order]:
            self.flags[phase_index][order] = 1
            self.count += 1

    def add_all(self, phase_index: int) -> None:
        """Mark every unit of the phase finished (a verified seal, see `seal`)."""
        flags = self.flags[phase_index]
        self.count += flags.count(0)
        flags[:] = b"\x01" * len(flags)

    def __contains__(self, unit: object) -> bool:
        return isinstance(unit, Unit) and bool(self.flags[unit.phase_index][unit.order])

    def remaining(self, phase_index: int) -> int:
        flags = self.flags[phase_index]
        return len(flags) - flags.count(1)
