"""Debian's headless Chromium, driven by Playwright, for the tests that need a real browser (the status
page, Mermaid's own parser). No browser is downloaded: .ci/run installs Debian's `chromium` package and sets
SENDERCTL_REQUIRE_BROWSER=1, so that a missing browser fails in CI; elsewhere such tests skip with the reason."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("SENDERCTL_CHROMIUM", "/usr/bin/chromium"))
# No sandbox (CI runs as root), no GPU, and nothing that would reach the network on its own.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REQUIRED = os.environ.get("SENDERCTL_REQUIRE_BROWSER") == "1"


def skip_or_fail(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"CI requires this browser test: {reason}")
    pytest.skip(reason)


def browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: python3 dev.py test installs it from requirements-test.lock"
    return None


@pytest.fixture
def browser() -> Iterator[Any]:
    reason = browser_missing()
    if reason:
        skip_or_fail(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()
