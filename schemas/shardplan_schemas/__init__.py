"""shardplan's models: the spec, source lines, the plan, events and diagnostics.

The only package the compiler and the executor share. Names are loaded on
first use (PEP 562): `shardplan validate`'s fast path imports a pydantic-free
submodule of this package, and importing the package must not build every
model first.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
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

_HOME: dict[str, str] = {
    "Diagnostic": "diagnostics",
    "Severity": "vocabulary",
    "EVENT_ADAPTER": "events",
    "Event": "events",
    "PLAN_FORMAT": "plan",
    "Generator": "plan",
    "PlanPhase": "plan",
    "PlanSourceRef": "plan",
    "PlanSpecRef": "plan",
    "ResolvedExecution": "plan",
    "RunPolicy": "plan",
    "Shard": "plan",
    "ShardPlan": "plan",
    "SourceLine": "source",
    "TranslatedLine": "source",
    "ConcurrencyConfig": "spec",
    "LanguagesConfig": "spec",
    "PhaseConfig": "spec",
    "PhaseExecutionConfig": "spec",
    "PipelineSpec": "spec",
    "RetryConfig": "spec",
    "SourceConfig": "spec",
    "Record": "task",
    "ShardTask": "task",
}

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


def __getattr__(name: str) -> object:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'shardplan_schemas' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"shardplan_schemas.{module}"), name)
    globals()[name] = value
    return value
