"""The `shardplan` command.

Subcommands are loaded lazily from their own modules: `shardplan validate`
runs on every commit through pre-commit, so it must not pay for importing the
plan builder, the schema exporter or the executor.
"""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of a click.Command
LAZY_COMMANDS: dict[str, str] = {
    "validate": "shardplan_compiler.commands.validate:validate",
    "compile": "shardplan_compiler.commands.compile:compile_command",
    "show": "shardplan_compiler.commands.show:show",
    "diff": "shardplan_compiler.commands.diff:diff",
    "schema": "shardplan_compiler.commands.schema:schema",
    "import": "shardplan_compiler.commands.import_rentl:import_group",
    "run": "shardplan_executor.cli:run",
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when it is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(LAZY_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = LAZY_COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):  # pragma: no cover - a wiring bug
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="shardplan", prog_name="shardplan")
def main() -> None:
    """Validate pipeline specs, compile them into shard plans, review and run the plans."""
