"""shardplan's models: the spec, source lines, the plan, events and diagnostics.

The only package the compiler and the executor share.
"""

from shardplan_schemas.diagnostics import Diagnostic, Severity
from shardplan_schemas.events import EVENT_ADAPTER, Event
from shardplan_schemas.plan import (
    PLAN_FORMAT,
    Generator,
    PlanPhase,
    PlanSourceRef,
    PlanSpecRef,
    ResolvedExecution,
    RunPolicy,
    Shard,
    ShardPlan,
)
from shardplan_schemas.source import SourceLine, TranslatedLine
from shardplan_schemas.spec import (
    ConcurrencyConfig,
    LanguagesConfig,
    PhaseConfig,
    PhaseExecutionConfig,
    PipelineSpec,
    RetryConfig,
    SourceConfig,
)
from shardplan_schemas.task import Record, ShardTask

__version__ = "0.1.0"

__all__ = [
    "EVENT_ADAPTER",
    "PLAN_FORMAT",
    "ConcurrencyConfig",
    "Diagnostic",
    "Event",
    "Generator",
    "LanguagesConfig",
    "PhaseConfig",
    "PhaseExecutionConfig",
    "PipelineSpec",
    "PlanPhase",
    "PlanSourceRef",
    "PlanSpecRef",
    "Record",
    "ResolvedExecution",
    "RetryConfig",
    "RunPolicy",
    "Severity",
    "Shard",
    "ShardPlan",
    "ShardTask",
    "SourceConfig",
    "SourceLine",
    "TranslatedLine",
    "__version__",
]
