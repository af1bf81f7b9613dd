"""A plan's structure, checked beyond its `plan_id` (DESIGN §7).

A `plan_id` is a checksum, not a signature: anyone who edits a plan can
recompute it. So every reader of a plan (`run`, `show`, `diff`) also checks
that the plan could have come out of the compiler: phases from the vocabulary
in their order, the languages where they belong, shards that partition the
lines, sizes and counts that agree with the strategy, and keys that name the
source line at each shard's start. The first problem found is reported, naming
the shard, so the reader can refuse the plan before anything uses it.

These are pure functions over the plan model and a sequence of line ids, so
the compiler and the executor share them.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from shardplan_schemas.plan import PlanPhase, ShardPlan
from shardplan_schemas.vocabulary import PER_LANGUAGE_PHASES, PHASE_ORDER

MAX_CONTENT_FACTOR = 4
"""With `content` boundaries a shard holds at most this many times the size (DESIGN §8)."""
_KEY = attrgetter("key")
_START = attrgetter("start")
_SIZE_FIELDS = {"chunk": "chunk_size", "scene": "scene_batch_size", "route": "route_batch_size"}


def structure_problem(plan: ShardPlan) -> str | None:
    """The first way `plan` could not have come out of the compiler, or None."""
    previous = -1
    line_count = plan.source.line_count
    for phase in plan.phases:
        position = PHASE_ORDER.index(phase.phase)
        if position <= previous:
            return f"phase {phase.phase} is repeated or out of order"
        previous = position
        problem = _phase_problem(phase, line_count)
        if problem is not None:
            return problem
    return None


def _phase_problem(phase: PlanPhase, line_count: int) -> str | None:
    checker = PhaseChecker(phase, line_count, len(phase.shards))
    problem = checker.header_problem()
    if problem is not None:
        return problem
    for shard in phase.shards:
        problem = checker.shard_problem(shard.key, shard.start, shard.end)
        if problem is not None:
            return problem
    return checker.end_problem()


class PhaseChecker:
    """The structure of one phase, checked one shard at a time (a reader may stream shards).

    Call `header_problem` first, then `shard_problem` for each listed shard in
    order, then `end_problem`; the first problem found is the answer.
    `listed` is the number of shards the phase lists.
    """

    def __init__(self, phase: PlanPhase, line_count: int, listed: int) -> None:
        self.phase = phase
        self.line_count = line_count
        self.listed = listed
        self.expected = 0
        self.index = 0
        self.prefix = phase.phase + ":"
        self.size: int | None = None
        execution = phase.execution
        if execution.strategy == "chunk":
            self.size = execution.chunk_size
        self.content = execution.boundaries == "content"

    def header_problem(self) -> str | None:
        """Languages, counts, sizes: what the phase's header must agree with."""
        phase = self.phase
        name = phase.phase
        languages = phase.target_languages
        if (name in PER_LANGUAGE_PHASES) != (languages is not None):
            return (
                f"phase {name} {'needs' if languages is None else 'cannot have'} target_languages"
            )
        if languages is not None and (not languages or len(set(languages)) != len(languages)):
            return f"phase {name}'s target_languages are empty or repeated"
        if phase.shard_count != self.listed:
            return f"phase {name} declares {phase.shard_count} shards but lists {self.listed}"
        if not phase.enabled or self.line_count == 0:
            return None
        if not self.listed:
            return f"phase {name} has no shards for {self.line_count} lines"
        execution = phase.execution
        size_field = _SIZE_FIELDS.get(execution.strategy)
        sizes = {
            "chunk_size": execution.chunk_size,
            "scene_batch_size": execution.scene_batch_size,
            "route_batch_size": execution.route_batch_size,
        }
        for field, value in sizes.items():
            if (value is None) == (field == size_field):
                return (
                    f"phase {name}'s execution has {field} {value} with strategy "
                    f"{execution.strategy}"
                )
        if execution.strategy == "full" and (execution.boundaries != "fixed" or self.listed != 1):
            return (
                f"phase {name} uses the full strategy but does not have one shard with fixed "
                "boundaries"
            )
        return None

    def shard_problem(self, key: str, start: int, end: int) -> str | None:
        """The next listed shard, in order."""
        name = self.phase.phase
        if not self.phase.enabled or self.line_count == 0:
            why = "disabled" if not self.phase.enabled else "over no lines"
            return f"phase {name} is {why} but lists shard {key}"
        index = self.index
        self.index += 1
        if not key.startswith(self.prefix):
            return f"shard {key} is listed under phase {name}"
        if start != self.expected or end <= start or end > self.line_count:
            return (
                f"shard {key} covers [{start}, {end}), but phase {name}'s "
                f"shards must partition the {self.line_count} lines in order "
                f"(next start {self.expected})"
            )
        size = self.size
        if size is not None:
            lines = end - start
            limit = size * MAX_CONTENT_FACTOR if self.content else size
            short_allowed = self.content or index == self.listed - 1
            if lines > limit or (not short_allowed and lines != size):
                return f"shard {key} has {lines} lines, which chunk_size {size} does not allow"
        self.expected = end
        return None

    def end_problem(self) -> str | None:
        """After the last shard: the shards must cover every line."""
        if not self.phase.enabled or self.line_count == 0 or not self.listed:
            return None
        if self.expected != self.line_count:
            return (
                f"the shards of phase {self.phase.phase} cover {self.expected} of the "
                f"{self.line_count} lines"
            )
        return None


def key_problem(plan: ShardPlan, line_ids: Sequence[str]) -> str | None:
    """The first shard whose key does not name the source line at its start, or None.

    Call it only on a plan whose `structure_problem` is None, with the source's
    line ids in order.
    """
    if len(line_ids) != plan.source.line_count:
        return (
            f"the plan counts {plan.source.line_count} source lines but the source has "
            f"{len(line_ids)}"
        )
    for phase in plan.phases:
        # Compared in C first (a plan holds hundreds of thousands of shards); the loop only
        # runs to name the first shard that is wrong.
        prefix = f"{phase.phase}:"
        keys = list(map(_KEY, phase.shards))
        expected = list(map(prefix.__add__, map(line_ids.__getitem__, map(_START, phase.shards))))
        if keys == expected:
            continue
        for shard in phase.shards:
            if shard.first_line_id != line_ids[shard.start]:
                return (
                    f"shard {shard.key} starts at line {shard.start}, whose id is "
                    f"{line_ids[shard.start]}, not {shard.first_line_id}"
                )
    return None
