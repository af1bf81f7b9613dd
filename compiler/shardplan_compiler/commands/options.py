"""Options that several commands share, declared once so their names and help stay the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from shardplan_compiler.render.diagnostics import DIAGNOSTIC_FORMATS

F = TypeVar("F", bound=Callable[..., object])


def diagnostic_format_option(subject: str = "Diagnostics") -> Callable[[F], F]:
    """`--format` for a command that reports diagnostics; None means the default for where it runs."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(DIAGNOSTIC_FORMATS),
        default=None,
        help=f"{subject} format [default: github when GITHUB_ACTIONS=true, else text].",
    )
