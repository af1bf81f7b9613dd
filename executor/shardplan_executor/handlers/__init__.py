"""Handlers: the code that does a unit's work, chosen on the command line.

See `protocol` for what a handler is and `discovery` for how one is found.
"""

from shardplan_executor.handlers.discovery import HandlerNotFoundError, load_handler
from shardplan_executor.handlers.protocol import Handler, HandlerResult

__all__ = ["Handler", "HandlerNotFoundError", "HandlerResult", "load_handler"]
