"""Headless Chromium for page tests: Debian's /usr/bin/chromium driven by Playwright.

`make test` installs chromium (see Makefile); where it or Playwright is missing the tests
that need a browser skip and say why, rather than passing without having looked."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = os.environ.get("STORMWATCH_CHROMIUM", "/usr/bin/chromium")


@contextmanager
def browser_page() -> Iterator:
    """A fresh page that records every dialog (alert) and console error it sees."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no chromium at {CHROMIUM}: run `make test` (it installs it) as root")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            page.dialogs = []
            page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
            yield page
        finally:
            browser.close()
