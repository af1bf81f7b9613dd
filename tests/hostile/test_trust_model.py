"""The trust model (docs/trust-model.md), proven: input is data, never code.

- A spec cannot run code: every object-constructing YAML tag is refused,
  whatever command reads the spec, and its payload never runs (a marker file
  the payload would create never appears).
- Neither a spec nor a plan names code to import: a valid plan full of module
  names (with a module of that name importable) imports nothing; the only way
  to load code is `--handler` on the command line — shown here too, so the
  marker is known to work.
- What a plan will read is visible: `show` prints the source it names and
  `diff` prints any change of it.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shardplan_schemas.canonical import compute_plan_id

from .cli import GOLDEN, REPO, Outcome, run_cli

MARKER = "PWNED"
GOLDEN_SPEC = (GOLDEN / "golden.shardplan.yaml").read_text(encoding="utf-8")
PAYLOADS = {
    "object-apply-os-system": f'!!python/object/apply:os.system ["touch {MARKER}"]',
    "object-apply-subprocess": f"!!python/object/apply:subprocess.check_call [[touch, {MARKER}]]",
    "object-new-popen": f"!!python/object/new:subprocess.Popen [[touch, {MARKER}]]",
    "object-with-state": f"!!python/object:subprocess.Popen {{args: [touch, {MARKER}]}}",
    "name-os-system": "!!python/name:os.system",
    "module-os": "!!python/module:os",
}
PLACES = {
    "value": ("project: golden-sample", "project: {payload}"),
    "list-item": ("agents: [scene_summarizer]", "agents:\n      - {payload}"),
    "anchored-and-aliased": (
        "project: golden-sample",
        "x_anchor: &evil {payload}\nproject: *evil",
    ),
}


def _hostile_spec(payload: str, place: str) -> str:
    old, new = PLACES[place]
    return GOLDEN_SPEC.replace(old, new.format(payload=payload), 1)


COMMANDS = {
    "validate": ("validate", "case.shardplan.yaml"),
    "validate-source": ("validate", "case.shardplan.yaml", "--source", "script.jsonl"),
    "compile": ("compile", "case.shardplan.yaml", "-o", "case.plan.json"),
}


def _attempt(root: Path, payload: str, place: str, command: str) -> tuple[Path, Outcome]:
    directory = root / f"{payload}-{place}-{command}"
    directory.mkdir()
    (directory / "case.shardplan.yaml").write_text(
        _hostile_spec(PAYLOADS[payload], place), encoding="utf-8"
    )
    (directory / "script.jsonl").write_bytes((GOLDEN / "script.jsonl").read_bytes())
    return directory, run_cli(COMMANDS[command], directory)


def test_a_spec_cannot_run_code(tmp_path: Path) -> None:
    # Every payload in every place through `validate`; the first through every command.
    attempts = [(payload, place, "validate") for payload in PAYLOADS for place in PLACES]
    attempts += [
        (next(iter(PAYLOADS)), place, command)
        for place in PLACES
        for command in COMMANDS
        if command != "validate"
    ]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda args: _attempt(tmp_path, *args), attempts))
    for (payload, place, command), (directory, outcome) in zip(attempts, results, strict=True):
        shown = f"{payload} as {place} via {command}: exit {outcome.returncode}\n{outcome.output}"
        assert not (directory / MARKER).exists(), f"the spec ran code! {shown}"
        assert outcome.returncode == 1, shown
        assert "SP106" in outcome.output, shown
        assert "Traceback" not in outcome.output, shown
        assert not (directory / "case.plan.json").exists(), shown


UNSAFE_YAML = re.compile(
    r"yaml\.(Unsafe|Full)?Loader\b|UnsafeLoader|FullLoader|add_constructor|"
    r"yaml\.(load|load_all|unsafe_load|unsafe_load_all|full_load|full_load_all)\("
)


def test_only_the_safe_yaml_loader_is_used() -> None:
    """No code path can reach a constructing loader: the only YAML entry is composing nodes."""
    offenders = []
    for package in ("compiler", "schemas", "executor"):
        for path in sorted((REPO / package).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if UNSAFE_YAML.search(line.split("#", 1)[0]):
                    offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []


# --- plans ----------------------------------------------------------------------------------------

EVIL_MODULE = f"""\
from pathlib import Path
Path({MARKER!r}).write_text("imported", encoding="utf-8")

def main(task):
    return []
"""


@pytest.fixture
def plan_dir(tmp_path: Path) -> Path:
    """The golden plan, and a module `evilmod` on PYTHONPATH that leaves a marker when imported."""
    for name in ("golden.shardplan.yaml", "script.jsonl"):
        (tmp_path / name).write_bytes((GOLDEN / name).read_bytes())
    (tmp_path / "evilmod.py").write_text(EVIL_MODULE, encoding="utf-8")
    done = run_cli(["compile", "golden.shardplan.yaml", "-o", "good.plan.json"], tmp_path)
    assert done.returncode == 0, done.output
    return tmp_path


def _rewrite(plan_dir: Path, name: str, change: dict[str, object]) -> Path:
    """The good plan with `change` applied at the top level and to every phase's agents."""
    plan = json.loads((plan_dir / "good.plan.json").read_bytes())
    plan.pop("plan_id")
    for key, value in change.items():
        if key == "agents":
            for phase in plan["phases"]:
                if phase["agents"]:
                    phase["agents"] = value
        else:
            plan[key] = value
    plan["plan_id"] = compute_plan_id(plan)
    path = plan_dir / name
    path.write_text(json.dumps(plan, indent=1), encoding="utf-8")
    return path


def _run(plan_dir: Path, plan: Path, handler: str = "pseudo") -> Outcome:
    return run_cli(
        ["run", plan.name, "--handler", handler, "--out", f"{plan.stem}.run", "--quiet"],
        plan_dir,
        extra_env={"PYTHONPATH": str(plan_dir)},
    )


def test_a_plan_cannot_make_the_executor_import_anything(plan_dir: Path) -> None:
    # A valid plan (its plan_id recomputed) whose agents and generator name the module.
    named = _rewrite(
        plan_dir,
        "named.plan.json",
        {"agents": ["evilmod"], "generator": {"name": "evilmod:main", "version": "evilmod"}},
    )
    outcome = _run(plan_dir, named)
    assert outcome.returncode == 0, outcome.output
    assert not (plan_dir / MARKER).exists(), "a plan made the executor import a module"
    # Keys that would name code elsewhere are not part of a plan: refused, nothing imported.
    for key in ("handler", "handlers", "entry_point", "import"):
        extra = _rewrite(plan_dir, f"extra-{key}.plan.json", {key: "evilmod:main"})
        outcome = _run(plan_dir, extra)
        assert outcome.returncode == 1, outcome.output
        assert key in outcome.output
        assert "Traceback" not in outcome.output
        assert not (plan_dir / MARKER).exists(), f"`{key}` in a plan imported a module"


def test_the_command_line_is_the_one_way_to_load_a_handler(plan_dir: Path) -> None:
    """The control for the test above: the same module, named by `--handler`, is imported."""
    outcome = _run(plan_dir, plan_dir / "good.plan.json", handler="evilmod:main")
    assert (plan_dir / MARKER).exists(), outcome.output


def test_show_and_diff_reveal_what_a_plan_reads(plan_dir: Path) -> None:
    """A plan naming an unexpected file cannot hide it from a reviewer."""
    elsewhere = _rewrite(
        plan_dir,
        "elsewhere.plan.json",
        {
            "source": {
                **json.loads((plan_dir / "good.plan.json").read_bytes())["source"],
                "path": "../secrets/keys.jsonl",
            }
        },
    )
    shown = run_cli(["show", elsewhere.name], plan_dir)
    assert "../secrets/keys.jsonl" in shown.output, shown.output
    as_json = run_cli(["show", elsewhere.name, "--format", "json"], plan_dir)
    files = json.loads(_json_part(as_json.output))["files"]
    assert files["source"]["path"] == "../secrets/keys.jsonl"
    diffed = run_cli(["diff", "good.plan.json", elsewhere.name], plan_dir)
    assert diffed.returncode == 0, diffed.output
    assert '"script.jsonl" -> "../secrets/keys.jsonl"' in diffed.output, diffed.output
    # ... and `run` reads exactly that file: missing here, so nothing runs.
    ran = _run(plan_dir, elsewhere)
    assert ran.returncode == 2, ran.output
    assert "keys.jsonl" in ran.output


def _json_part(output: str) -> str:
    return output[output.index("{") : output.rindex("}") + 1]
