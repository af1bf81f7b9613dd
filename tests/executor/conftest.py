"""Fixtures shared by the executor's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import exec_test_handlers as handlers


@pytest.fixture
def side_log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the test handlers log each unit they run (`exec_test_handlers.SIDE_LOG`)."""
    path = tmp_path / "side.log"
    monkeypatch.setenv(handlers.SIDE_LOG, str(path))
    return path
