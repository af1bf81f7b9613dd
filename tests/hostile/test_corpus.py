"""Every hostile case through the real CLI: the exit code, the message, the time, no traceback.

The cases run in parallel (one per core) in a module-scoped fixture, so the
whole corpus costs a few seconds of wall time; each case is still its own
test, named after the input, so a regression names what broke.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .cli import CASE_TIMEOUT_S, Outcome, available, run_cli
from .corpus import Case, all_cases

CASES = all_cases()


def _runnable(case: Case) -> bool:
    return all(available(feature) for feature in case.needs)


def _run_case(case: Case, root: Path) -> Outcome:
    directory = root / case.name
    directory.mkdir()
    try:
        case.setup(directory)
    except Exception as error:  # the setup (e.g. compiling the good plan) is not under test
        return Outcome(-999, f"setup failed: {type(error).__name__}: {error}", 0.0)
    return run_cli(case.args, directory)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("hostile")
    runnable = [case for case in CASES if _runnable(case)]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = pool.map(lambda case: (case.name, _run_case(case, root)), runnable)
        return dict(results)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_case(case: Case, outcomes: dict[str, Outcome]) -> None:
    if not _runnable(case):
        pytest.skip(f"needs {', '.join(case.needs)}, not installed yet")
    outcome = outcomes[case.name]
    shown = f"{case.args}: exit {outcome.returncode} in {outcome.seconds:.2f}s ({outcome.cpu_seconds:.2f}s CPU)\n{outcome.output}"
    assert not outcome.hung, f"hung: {shown}"
    assert outcome.cpu_seconds <= CASE_TIMEOUT_S, f"took {outcome.cpu_seconds:.2f}s of CPU: {shown}"
    assert outcome.returncode != -999, shown
    assert "Traceback" not in outcome.output, shown
    assert outcome.returncode in case.exit_codes, shown
    for text in case.expect:
        assert text in outcome.output, f"expected {text!r} in the output of {shown}"
    for text in case.forbid:
        assert text not in outcome.output, f"{text!r} must not be in the output of {shown}"
    if outcome.returncode != 0:
        assert outcome.output.strip(), f"a failure must say why: {shown}"


def test_the_corpus_covers_the_issue() -> None:
    """The inputs issue 6 lists are all here (a renamed case must not silently drop one)."""
    names = {case.name for case in CASES}
    for required in (
        "spec-random-bytes",
        "spec-nul-byte",
        "spec-flow-lists-20000-deep",
        "spec-flow-maps-20000-deep",
        "spec-block-lists-20000-deep",
        "spec-block-maps-1400-deep",
        "spec-scalar-2mb",
        "spec-int-5000-digits",
        "spec-tag-python-object-apply",
        "spec-tag-binary",
        "spec-merge-key",
        "spec-key-integer",
        "spec-utf16-le-bom-accepted",
        "spec-utf8-bom-accepted",
        "spec-crlf-accepted",
        "spec-alias-bomb",
        "spec-directory",
        "spec-fifo",
        "source-broken-json-line-compile",
        "source-json-array-line-compile",
        "source-duplicate-line-id-compile",
        "source-id-off-pattern-compile",
        "source-empty-text-compile",
        "source-non-string-text-compile",
        "source-binary-data-compile",
        "source-csv-ragged-row-compile",
        "source-csv-missing-text-column-compile",
        "source-csv-bom-accepted-compile",
        "plan-random-bytes-run",
        "plan-json-list-show",
        "plan-truncated-diff",
        "plan-unknown-format-run",
        "plan-tampered-shard-run",
        "plan-stale-source-run",
    ):
        assert required in names, required


def test_the_corpus_covers_old_run_directories() -> None:
    """Issue 13 part 2: each way an old run directory can be hostile has its case."""
    names = {case.name for case in CASES}
    for mutation in (
        "journal-parent-path",
        "journal-absolute-path",
        "output-symlink-outside",
        "outputs-folder-symlink",
        "output-fifo",
        "journal-50mb-line",
        "journal-truncated-lines",
        "output-checksum-mismatch",
        "live-run-lock",
    ):
        for command in ("run", "dry-run"):
            assert f"rundir-{mutation}-{command}" in names, (mutation, command)
