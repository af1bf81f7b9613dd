"""Finding a handler by the name given on the command line.

A handler comes only from the command line — by a name registered in the
entry-point group `shardplan.handlers`, or as `module:function` — never from a
spec or a plan, so a plan under review cannot make the executor import code.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from shardplan_executor.handlers.protocol import Handler

ENTRY_POINT_GROUP = "shardplan.handlers"


class HandlerNotFoundError(Exception):
    """The handler named on the command line cannot be loaded."""


def registered_handlers() -> list[str]:
    """Names registered in the `shardplan.handlers` entry-point group, sorted."""
    return sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def load_handler(reference: str) -> Handler:
    """The callable `reference` names: a registered name, or `module:function`."""
    if ":" in reference:
        module_name, _, attribute = reference.partition(":")
        try:
            target: object = importlib.import_module(module_name)
        except Exception as error:  # an import can fail in any way; report, never trace
            raise HandlerNotFoundError(
                f"cannot import module {module_name!r} for handler {reference!r}: "
                f"{type(error).__name__}: {error}"
            ) from None
        for part in attribute.split("."):
            if not part or not hasattr(target, part):
                raise HandlerNotFoundError(f"module {module_name!r} has no attribute {attribute!r}")
            target = getattr(target, part)
    else:
        matches = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == reference]
        if not matches:
            known = ", ".join(registered_handlers()) or "none"
            raise HandlerNotFoundError(
                f"no handler named {reference!r} (registered: {known}); "
                "give a registered name or module:function"
            )
        try:
            target = matches[0].load()
        except Exception as error:
            raise HandlerNotFoundError(
                f"cannot load handler {reference!r} ({matches[0].value}): "
                f"{type(error).__name__}: {error}"
            ) from None
    if not callable(target):
        raise HandlerNotFoundError(
            f"handler {reference!r} is a {type(target).__name__}, not callable"
        )
    handler: Handler = target
    return handler
