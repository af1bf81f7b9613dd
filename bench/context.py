"""What every benchmark needs: input sizes, the work directory and the tools to run."""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SizeName = Literal["full", "quick", "tiny"]


@dataclass(frozen=True)
class Size:
    """How big each benchmark's input is and how many pairs it measures.

    `full` is what the targets of the issues are stated for; `quick` gives a
    rough reading in under a minute; `tiny` only proves the harness works.
    """

    name: SizeName
    spec_count: int
    validate_repeats: int
    single_spec_repeats: int
    compile_lines: int
    compile_repeats: int
    executor_units: int
    executor_repeats: int
    dask_units: int
    dask_repeats: int
    warmup: int
    scale_lines: tuple[int, ...] = ()
    """Script sizes of the executor-at-scale curve (defaults plan); the last is the headline."""


SIZES: dict[SizeName, Size] = {
    "full": Size(
        name="full",
        spec_count=300,
        validate_repeats=9,
        single_spec_repeats=21,
        compile_lines=1_000_000,
        compile_repeats=5,
        executor_units=20_000,
        executor_repeats=5,
        dask_units=2_000,
        dask_repeats=3,
        warmup=1,
        scale_lines=(100_000, 300_000, 1_000_000),
    ),
    "quick": Size(
        name="quick",
        spec_count=300,
        validate_repeats=3,
        single_spec_repeats=5,
        compile_lines=100_000,
        compile_repeats=2,
        executor_units=5_000,
        executor_repeats=2,
        dask_units=500,
        dask_repeats=1,
        warmup=0,
        scale_lines=(10_000, 30_000, 100_000),
    ),
    "tiny": Size(
        name="tiny",
        spec_count=5,
        validate_repeats=1,
        single_spec_repeats=1,
        compile_lines=500,
        compile_repeats=1,
        executor_units=50,
        executor_repeats=1,
        dask_units=0,
        dask_repeats=0,
        warmup=0,
        scale_lines=(200, 600),
    ),
}

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class BenchContext:
    """The size to run, a scratch directory for generated inputs, and where the tools live."""

    size: Size
    workdir: Path
    pycache: Path | None = None
    """Where measured commands cache bytecode (default: `.pycache` in `workdir`)."""
    repo: Path = REPO_ROOT
    bin_dir: Path = Path(sys.executable).parent

    @property
    def python(self) -> str:
        return sys.executable

    def tool(self, name: str) -> str:
        """A console script of the running environment (the venv), e.g. `shardplan`."""
        return str(self.bin_dir / name)

    def env(self) -> dict[str, str]:
        """The environment for measured commands, as a user's installed tools would see it.

        The repo is importable (for `bench.*` handlers and the orjson floor).
        Bytecode is cached, as after `pip install`, but under the scratch
        directory (`PYTHONPYCACHEPREFIX`) so the benchmark writes nothing into
        the checkout; a `PYTHONDONTWRITEBYTECODE` set for development would
        otherwise make every run recompile our modules from source.
        """
        env = dict(os.environ)
        existing = env.get("PYTHONPATH")
        env["PYTHONPATH"] = str(self.repo) + (os.pathsep + existing if existing else "")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(self.pycache or self.workdir / ".pycache")
        return env


def module_available(name: str) -> bool:
    """Whether a module of the project exists yet (engineers land features in parallel)."""
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False
