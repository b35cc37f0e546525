"""Fixtures for the admin tests: a real uvicorn (live_server) and ONE Chromium per test
session (Debian's /usr/bin/chromium driven by Playwright; no browser download)."""

import io
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Route, sync_playwright

from tests.live_server import live_server

__all__ = ["live_server"]

CHROMIUM = os.environ.get("WHISTLE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TILE_URL = re.compile(r"https?://[^/]*tile[^/]*/.*")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}: run scripts/setup.sh --test-deps"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _tile() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (230, 234, 228)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[[], BrowserContext]]:
    """Browser contexts (separate cookie jars: one per signed-in user); map tiles are
    answered locally, so the test never needs the internet."""
    made: list[BrowserContext] = []
    tile = _tile()

    def factory() -> BrowserContext:
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")

        def fulfil(route: Route) -> None:
            route.fulfill(status=200, content_type="image/png", body=tile)

        context.route(TILE_URL, fulfil)
        context.set_default_timeout(10_000)
        made.append(context)
        return context

    yield factory
    for context in made:
        context.close()
