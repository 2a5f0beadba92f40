"""Real Chromium against the real app: a uvicorn server in a thread on a temp SQLite data dir.

Chromium is the Debian package (`apt-get install chromium`), never a Playwright download:
TROVA_CHROMIUM overrides the path. Without it these tests skip on a laptop and fail under CI.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    ViewportSize,
    sync_playwright,
)

from trova.app import create_app
from trova.config import Settings
from trova.db.engine import make_engine
from trova.db.migrate import upgrade
from trova.demo.loader import load_demo

# Read at import: the autouse _isolated_env fixture strips TROVA_* from each test's environment.
CHROMIUM = os.environ.get("TROVA_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}


def _chromium_or_skip() -> str:
    found = shutil.which(CHROMIUM)
    if found:
        return found
    message = (
        f"Chromium not found at {CHROMIUM!r}: install it with `apt-get install -y chromium` "
        "or point TROVA_CHROMIUM at a Chromium binary."
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


class _SharedChromium:
    """One Playwright driver and one Chromium per test process, however many fixture copies.

    Other test modules import these fixtures (`from tests.browser.conftest import browser`),
    which makes pytest register a separate session fixture per module. Playwright's sync API
    refuses to start twice in one thread, so every copy borrows this one instance; the last
    to finish closes it.
    """

    users = 0
    manager: Any = None
    playwright: Playwright | None = None
    browser: Browser | None = None

    @classmethod
    def acquire(cls) -> Browser:
        if cls.browser is None:
            executable = _chromium_or_skip()
            cls.manager = sync_playwright()
            cls.playwright = cls.manager.start()
            try:
                cls.browser = cls.playwright.chromium.launch(
                    executable_path=executable, args=CHROMIUM_ARGS, headless=True
                )
            except BaseException:
                cls.manager.__exit__(None, None, None)
                cls.playwright = cls.manager = None
                raise
        cls.users += 1
        return cls.browser

    @classmethod
    def release(cls) -> None:
        cls.users -= 1
        if cls.users == 0 and cls.browser is not None:
            cls.browser.close()
            cls.manager.__exit__(None, None, None)
            cls.browser = cls.playwright = cls.manager = None


@pytest.fixture(scope="session")
def playwright_instance(browser: Browser) -> Playwright:
    """The shared Playwright driver (kept for modules that import it by name)."""
    assert _SharedChromium.playwright is not None
    return _SharedChromium.playwright


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; skipped without it locally, a failure under CI=true."""
    yield _SharedChromium.acquire()
    _SharedChromium.release()


@dataclass
class LiveServer:
    url: str
    settings: Settings


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on a free 127.0.0.1 port, with the demo catalogue so pages look lived-in."""
    root = tmp_path_factory.mktemp("live")
    db_url = f"sqlite:///{root / 'trova.db'}"
    upgrade(db_url)
    settings = Settings(
        _env_file=None,
        data_dir=root / "data",
        database_url=db_url,
        secret_key="browser-test-secret",
        prefill_provider="fake",  # deterministic suggestions, no model, no network
    )
    settings.ensure_dirs()
    engine = make_engine(db_url)
    load_demo(engine, settings)
    engine.dispose()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the test server on {url} did not answer /healthz within 20 s")
        time.sleep(0.05)
    yield LiveServer(url, settings)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@dataclass
class PageProblems:
    """What a person would notice is broken: JS errors, missing CSS/JS/images, 5xx pages."""

    items: list[str] = field(default_factory=list)

    def watch(self, context: BrowserContext) -> None:
        context.on("weberror", lambda e: self.items.append(f"JS error: {e.error}"))
        context.on("console", self._on_console)
        context.on("requestfailed", self._on_failed)
        context.on("response", self._on_response)

    def _on_console(self, message: ConsoleMessage) -> None:
        # Chromium logs every 4xx as "Failed to load resource"; statuses are judged in
        # _on_response instead (a 422 form page is fine, a 404 stylesheet is not).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.items.append(f"console error: {message.text} at {message.location}")

    def _on_failed(self, request: Request) -> None:
        # Leaving a page aborts its lazy images still loading; that is not a failure.
        if request.failure != "net::ERR_ABORTED":
            self.items.append(f"failed: {request.method} {request.url}: {request.failure}")

    def _on_response(self, response: Response) -> None:
        status, kind = response.status, response.request.resource_type
        if status >= 500 or (status >= 400 and kind in ("stylesheet", "script", "image")):
            self.items.append(f"HTTP {status}: {response.url}")


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def new_page(
    browser: Browser, live_server: LiveServer, problems: PageProblems
) -> Iterator[Callable[[], Page]]:
    """A factory of pages, each in its own browser context (its own cookies: its own user)."""
    contexts: list[BrowserContext] = []

    def make() -> Page:
        context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
        context.set_default_timeout(15_000)
        problems.watch(context)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


DEMO_PHOTOS = Path(__file__).resolve().parents[2] / "src" / "trova" / "demo" / "photos"


@pytest.fixture
def item_photo() -> Path:
    """A real photo of a real item (the first of the demo catalogue's photos)."""
    return sorted(DEMO_PHOTOS.glob("*.jpg"))[0]
