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

from shardplan_schemas.plan import PlanPhase, ShardPlan
from shardplan_schemas.vocabulary import PER_LANGUAGE_PHASES, PHASE_ORDER

MAX_CONTENT_FACTOR = 4
"""With `content` boundaries a shard holds at most this many times the size (DESIGN §8)."""
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
    name = phase.phase
    languages = phase.target_languages
    if (name in PER_LANGUAGE_PHASES) != (languages is not None):
        return f"phase {name} {'needs' if languages is None else 'cannot have'} target_languages"
    if languages is not None and (not languages or len(set(languages)) != len(languages)):
        return f"phase {name}'s target_languages are empty or repeated"
    if phase.shard_count != len(phase.shards):
        return f"phase {name} declares {phase.shard_count} shards but lists {len(phase.shards)}"
    if not phase.enabled or line_count == 0:
        if phase.shards:
            why = "disabled" if not phase.enabled else "over no lines"
            return f"phase {name} is {why} but lists shard {phase.shards[0].key}"
        return None
    if not phase.shards:
        return f"phase {name} has no shards for {line_count} lines"
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
                f"phase {name}'s execution has {field} {value} with strategy {execution.strategy}"
            )
    size = sizes[size_field] if size_field is not None else None
    if execution.strategy == "full" and (execution.boundaries != "fixed" or len(phase.shards) != 1):
        return (
            f"phase {name} uses the full strategy but does not have one shard with fixed boundaries"
        )
    expected = 0
    prefix = name + ":"
    last = len(phase.shards) - 1
    for index, shard in enumerate(phase.shards):
        if not shard.key.startswith(prefix):
            return f"shard {shard.key} is listed under phase {name}"
        if shard.start != expected or shard.end <= shard.start or shard.end > line_count:
            return (
                f"shard {shard.key} covers [{shard.start}, {shard.end}), but phase {name}'s "
                f"shards must partition the {line_count} lines in order (next start {expected})"
            )
        lines = shard.end - shard.start
        if execution.strategy == "chunk" and size is not None:
            limit = size * MAX_CONTENT_FACTOR if execution.boundaries == "content" else size
            short_allowed = execution.boundaries == "content" or index == last
            if lines > limit or (not short_allowed and lines != size):
                return (
                    f"shard {shard.key} has {lines} lines, which chunk_size {size} does not allow"
                )
        expected = shard.end
    if expected != line_count:
        return f"the shards of phase {name} cover {expected} of the {line_count} lines"
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
        for shard in phase.shards:
            if shard.first_line_id != line_ids[shard.start]:
                return (
                    f"shard {shard.key} starts at line {shard.start}, whose id is "
                    f"{line_ids[shard.start]}, not {shard.first_line_id}"
                )
    return None
