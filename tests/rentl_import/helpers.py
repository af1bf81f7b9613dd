"""A rentl project in a temporary directory, imported and compiled in-process.

`rentl_shards` is an independent reference of rentl 0.1.8's documented
sharding (rentl-0.1.8.md, "Sharding"), written here from the description,
not from either implementation: the import is right when the plan of the
imported spec gives every phase exactly these shards.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shardplan_compiler.compile_spec import CompileResult, compile_loaded_spec
from shardplan_compiler.rentl.importer import SCHEMA_URL, RentlImport, import_rentl
from shardplan_compiler.spec_loading import LoadedSpec, load_spec

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "rentl"

HEAD = """\
[project]
schema_version = {{ major = 0, minor = 1, patch = 0 }}
project_name = "test"

[project.paths]
workspace_dir = "."
input_path = "./input/script.{fmt}"
output_dir = "./out"
logs_dir = "./logs"

[project.formats]
input_format = "{fmt}"
output_format = "{fmt}"

[project.languages]
source_language = "ja"
target_languages = ["en", "fr"]

[pipeline.default_model]
model_id = "m"
"""

RENTL_DEFAULTS: dict[str, tuple[str, int]] = {
    "context": ("scene", 1),
    "pretranslation": ("chunk", 10),
    "translate": ("chunk", 10),
    "qa": ("chunk", 10),
    "edit": ("chunk", 10),
}
Line = Mapping[str, str]


class RouteFails(Exception):
    """rentl: "Route strategy requires route_id on all source lines"."""


def rentl_shards(phase: Mapping[str, object], lines: Sequence[Line]) -> list[tuple[int, int]]:
    """The (start, end) of every shard rentl 0.1.8 runs for one phase, as documented."""
    name = str(phase["phase"])
    count = len(lines)
    if phase.get("enabled", True) is False:
        return []
    if name in ("ingest", "export"):
        return [(0, count)] if count else []  # no shard plan: one unit over every line
    execution = phase.get("execution")
    if execution is None:
        strategy, size = RENTL_DEFAULTS[name]
        execution = {
            "strategy": strategy,
            f"{strategy}_size" if strategy == "chunk" else "scene_batch_size": size,
        }
    assert isinstance(execution, Mapping)
    strategy = str(execution.get("strategy", "full"))
    if strategy == "full":
        return [(0, count)] if count else []
    if strategy == "chunk":
        size = int(execution["chunk_size"])
        return [(start, min(start + size, count)) for start in range(0, count, size)]
    key = "scene_id" if strategy == "scene" else "route_id"
    if strategy == "route" and any(key not in line for line in lines):
        raise RouteFails
    batch = int(execution.get(f"{strategy}_batch_size", 1))
    runs: list[list[int]] = []
    for index, line in enumerate(lines):
        if runs and lines[runs[-1][0]].get(key) == line.get(key):
            runs[-1][1] = index + 1
        else:
            runs.append([index, index + 1])
    return [
        (runs[i][0], runs[min(i + batch, len(runs)) - 1][1]) for i in range(0, len(runs), batch)
    ]


@dataclass
class Project:
    """A rentl project on disk: rentl.toml, input/script.<fmt>."""

    root: Path
    config: Path

    def imported(self, spec_dir: Path | None = None) -> RentlImport:
        return import_rentl(
            self.config, spec_dir or self.root, SCHEMA_URL, "shardplan import rentl"
        )

    def compiled(self) -> tuple[RentlImport, LoadedSpec | None, CompileResult | None]:
        result = self.imported()
        if result.spec_text is None:
            return result, None, None
        spec = self.root / "shardplan.yaml"
        spec.write_text(result.spec_text, encoding="utf-8")
        loaded = load_spec(spec)
        return result, loaded, compile_loaded_spec(loaded, None, self.root)


def make_project(
    root: Path, body: str, lines: Sequence[Line] = (), fmt: str = "jsonl", head: str = HEAD
) -> Project:
    """Write rentl.toml (`head` + `body`) and the script in rentl's layout."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "input").mkdir(exist_ok=True)
    config = root / "rentl.toml"
    config.write_text(head.format(fmt=fmt) + body, encoding="utf-8")
    script = root / "input" / f"script.{fmt}"
    if fmt == "jsonl":
        script.write_text(
            "".join(json.dumps(dict(line)) + "\n" for line in lines), encoding="utf-8"
        )
    elif fmt == "txt":
        script.write_text("".join(line["text"] + "\n" for line in lines), encoding="utf-8")
    else:
        columns = ["line_id", "scene_id", "text"]
        rows = [",".join(columns)] + [",".join(line.get(c, "") for c in columns) for line in lines]
        script.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return Project(root, config)


def script(scenes: Sequence[str | None], routes: Sequence[str | None] | None = None) -> list[Line]:
    """Lines `line_1`… with the given scene (and route) ids; None leaves the id out."""
    lines: list[Line] = []
    for index, scene in enumerate(scenes):
        line = {"line_id": f"line_{index + 1}", "text": f"text {index + 1}"}
        if scene is not None:
            line["scene_id"] = scene
        route = routes[index] if routes is not None else None
        if route is not None:
            line["route_id"] = route
        lines.append(line)
    return lines


def plan_shards(result: CompileResult) -> dict[str, list[tuple[int, int]]]:
    plan = result.plan
    assert plan is not None
    return {
        phase.phase: [(shard.start, shard.end) for shard in phase.shards] for phase in plan.phases
    }


def codes(result: RentlImport) -> list[tuple[str, int, int]]:
    return sorted((d.code, d.line, d.column) for d in result.diagnostics)
