"""Pydantic models built from values the executor made itself, without validating them.

A million-line run builds some 730,000 tasks and journal records. Their
values come from the verified plan and source or from the executor's own
bookkeeping, so validation would only cost time; even `model_construct`
(which fills defaults and checks field names) cost about 10 µs a model,
several percent of a run. `trusted` sets the instance's state directly, as
`source_index.source_line` does for source lines: the caller passes every
field.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

Model = TypeVar("Model", bound=BaseModel)


def trusted(cls: type[Model], values: dict[str, object]) -> Model:
    """An instance of `cls` with exactly `values` (every field, none validated)."""
    instance = cls.__new__(cls)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance
