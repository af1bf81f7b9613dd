"""The browser every test of this folder shares, or a skip saying how to get one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .cdp import HOW_TO_GET, Browser, chromium_path, launch


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = chromium_path()
    if chromium is None:
        pytest.skip(HOW_TO_GET)
    with launch(chromium) as opened:
        yield opened


@pytest.fixture
def fresh(browser: Browser) -> Browser:
    """The shared browser with the events of earlier tests forgotten."""
    browser.events.clear()
    return browser


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pages")
