"""Hostile input through the real CLI: a clear error, never a crash, a hang or a traceback."""
