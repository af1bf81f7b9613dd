"""`shardplan run` (and `python -m shardplan_executor`): replay a reviewed plan."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, cast

import click

from shardplan_executor.runner import RunOptions, run_plan


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("plan", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--handler",
    required=True,
    help="A handler registered in the `shardplan.handlers` entry-point group (e.g. `pseudo`), "
    "or `module:function`.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Run directory (journal, events, outputs, export). Default: next to the plan, "
    "named after it: `golden.plan.json` -> `golden.plan.run/`. Rerunning with the same "
    "directory resumes.",
)
@click.option(
    "--backend",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Run units in this process, or on a Dask cluster.",
)
@click.option(
    "--scheduler",
    "scheduler_address",
    default=None,
    help="Dask scheduler address (e.g. tcp://10.0.0.5:8786); default: a local cluster on "
    "127.0.0.1 with the dashboard off.",
)
@click.option(
    "--source",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Read the source from FILE instead of the path in the plan (its sha256 must match).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress or summary; errors only.")
@click.option(
    "--unit-timeout",
    "unit_timeout_s",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Fail an attempt that takes longer than this (it is then retried per the run policy).",
)
@click.option(
    "--no-fsync",
    is_flag=True,
    help="Skip fsync: still safe if the process is killed, but a power loss may make a resume "
    "re-run recently finished units. Faster for very many tiny units.",
)
@click.option(
    "--reuse",
    "reuse",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    metavar="OLD_RUN_DIR",
    help="An earlier run directory (repeatable): a unit with the same fingerprint (shard, "
    "language, handler, inputs) finished there takes that output, checksum-verified, instead "
    "of a handler call. The directory is read as untrusted input.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print per phase how many units would run and be reused, and why; call no handler "
    "and write nothing.",
)
def run(
    plan: Path,
    handler: str,
    out_dir: Path | None,
    backend: str,
    scheduler_address: str | None,
    source: Path | None,
    quiet: bool,
    unit_timeout_s: float | None,
    no_fsync: bool,
    reuse: tuple[Path, ...],
    dry_run: bool,
) -> None:
    """Run PLAN: verify it, then run its phases through the handler, resuming where it stopped.

    Exit 0 when every unit finished, 1 when the plan or source does not match, a unit failed
    or the run directory belongs to another plan, 2 on usage or I/O trouble.
    """
    if scheduler_address is not None and backend != "dask":
        raise click.UsageError("--scheduler needs --backend dask")
    options = RunOptions(
        plan_path=plan,
        handler=handler,
        out_dir=out_dir,
        backend=cast(Literal["local", "dask"], backend),
        scheduler_address=scheduler_address,
        source=source,
        quiet=quiet,
        unit_timeout_s=unit_timeout_s,
        fsync=not no_fsync,
        reuse=reuse,
        dry_run=dry_run,
    )
    raise SystemExit(run_plan(options))
